// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/tracer.h"

#include "sources/bpf/attach.h"
#include "sources/bpf/entry_maps.h"
#include "sources/bpf/module_fexit.h"
#include "sources/event_decode.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <regex>

namespace mountleak {

namespace {

constexpr int kMaxLoadAttempts = 8;

std::set<std::string> chosen_programs(const std::vector<HookChoice>& hooks) {
  std::set<std::string> out;
  for (const auto& hook : hooks)
    for (const auto& program : hook.programs) out.insert(program);
  return out;
}

// libbpf names the program that failed: "prog 'ml_exit_write': failed to load".
std::string refused_program_in(const std::string& log) {
  static const std::regex kFailed("prog '([A-Za-z0-9_]+)': (failed|BPF program load failed)");
  std::smatch m;
  return std::regex_search(log, m, kFailed) ? m[1].str() : "";
}

// Attaches every program of `obj` that was loaded. A failure drops that
// candidate: `failed` names the program and `refusals` says why, and so
// does a module's program that the kernel bound anywhere else. Links
// made before a failure are destroyed.
std::vector<bpf_link*> attach_loaded(bpf_object* obj, std::map<std::string, std::string>& attached_in,
                                     std::vector<std::string>& refusals, std::string& failed) {
  std::vector<bpf_link*> links;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__autoload(prog)) continue;
    if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING) {
      const std::string name = bpf_program__name(prog);
      const std::string module = module_of_section(bpf_program__section_name(prog));
      auto where = attach_btf_object(bpf_program__fd(prog));
      if (where) attached_in[name] = *where;
      std::string why_not;
      if (where && !module.empty() && *where != module)
        why_not = "bound in " + *where + "'s BTF, not " + module + "'s";
      else if (!module.empty())
        why_not = shadowed_by_vmlinux(bpf_program__section_name(prog));
      if (!why_not.empty()) {
        failed = name;
        refusals.push_back(name + ": " + why_not);
        break;
      }
    }
    auto link = attach_program(prog);
    if (!link) {
      failed = bpf_program__name(prog);
      refusals.push_back(failed + ": attach failed: " + attach_failure_text(link.error()));
      break;
    }
    links.push_back(*link);
  }
  if (!failed.empty()) {
    for (bpf_link* link : links) bpf_link__destroy(link);
    links.clear();
  }
  return links;
}

// The hook each chosen program serves.
std::map<std::string, std::string> hook_of_programs(const std::vector<HookChoice>& hooks) {
  std::map<std::string, std::string> out;
  for (const auto& hook : hooks)
    for (const auto& program : hook.programs) out[program] = hook.hook;
  return out;
}

const Hook* hook_named(const std::string& name) {
  for (const auto& hook : mountleak_hooks())
    if (hook.name == name) return &hook;
  return nullptr;
}

bool names_module(const Hook& hook, const std::string& module) {
  for (const auto& candidate : hook.candidates)
    if (candidate.module == module) return true;
  return false;
}

}  // namespace

Result<std::unique_ptr<BpfTracer>> BpfTracer::start(const TracerOptions& options,
                                                    FeatureSource& features, EventSink& sink) {
  std::unique_ptr<BpfTracer> tracer(new BpfTracer(sink, std::max(options.max_events_per_poll, 1u)));
  tracer->options_ = options;
  tracer->features_ = &features;
  std::set<std::string>& refused = tracer->refused_;

  for (int attempt = 0; attempt < kMaxLoadAttempts; ++attempt) {
    tracer->hooks_ = choose_hooks(mountleak_hooks(), features, refused, options.tier);
    auto wanted = chosen_programs(tracer->hooks_);
    if (wanted.empty()) return Error{"no hook can be served by this kernel (run `mountleak probe`)"};

    auto obj = open_bpf_object(options.object);
    if (!obj) return obj.error();
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj->get()) {
      bpf_program__set_autoload(prog, wanted.count(bpf_program__name(prog)) > 0);
    }
    bpf_map* events = bpf_object__find_map_by_name(obj->get(), "events");
    if (!events) return Error{options.object.describe() + " has no 'events' ring buffer"};
    if (int err = bpf_map__set_max_entries(events, options.ringbuf_bytes))
      return Error::from_errno("setting the ring buffer size to " +
                                   std::to_string(options.ringbuf_bytes) + " bytes",
                               -err);

    if (int err = shrink_unused_entry_maps(obj->get(), wanted))
      return Error::from_errno("sizing the kprobes' entry maps", -err);

    LibbpfLogCapture capture;
    if (int err = bpf_object__load(obj->get())) {
      std::string log = capture.tail(40);
      std::string name = refused_program_in(log);
      if (name.empty() || refused.count(name))
        return Error{"loading BPF programs: " + std::string(std::strerror(-err)) + ": " +
                         capture.tail(),
                     -err};
      tracer->refusals_.push_back(name + ": " + capture.tail(3));
      refused.insert(name);
      continue;
    }

    tracer->attached_in_.clear();
    std::string attach_failure;
    auto links = attach_loaded(obj->get(), tracer->attached_in_, tracer->refusals_, attach_failure);
    if (!attach_failure.empty()) {
      refused.insert(attach_failure);
      continue;
    }

    // attach_loaded walks the object's programs in order, one link each.
    const auto hook_of = hook_of_programs(tracer->hooks_);
    size_t next = 0;
    bpf_object__for_each_program(prog, obj->get()) {
      if (!bpf_program__autoload(prog) || next >= links.size()) continue;
      auto it = hook_of.find(bpf_program__name(prog));
      tracer->links_[it == hook_of.end() ? std::string() : it->second].push_back(links[next++]);
    }
    tracer->obj_ = std::move(*obj);
    tracer->counters_fd_ = bpf_object__find_map_fd_by_name(tracer->obj_.get(), "counters");
    tracer->ring_ = ring_buffer__new(bpf_map__fd(events), &BpfTracer::on_sample, tracer.get(), nullptr);
    if (!tracer->ring_) return Error::from_errno("creating the ring buffer reader");
    return tracer;
  }
  return Error{"the kernel refused too many programs; last: " +
               (tracer->refusals_.empty() ? std::string("?") : tracer->refusals_.back())};
}

BpfTracer::~BpfTracer() {
  if (ring_) ring_buffer__free(ring_);
  for (auto& [hook, links] : links_)
    for (bpf_link* link : links) bpf_link__destroy(link);
}

std::set<std::string> BpfTracer::watched_modules() const {
  std::set<std::string> out;
  for (const auto& choice : hooks_)
    if (const Hook* hook = hook_named(choice.hook)) out.merge(modules_that_move(*hook, choice));
  return out;
}

bool BpfTracer::settled(const std::string& module, bool loaded) const {
  for (const auto& choice : hooks_) {
    const Hook* hook = hook_named(choice.hook);
    if (!hook || !names_module(*hook, module)) continue;
    const HookCandidate* chosen = chosen_candidate(*hook, choice);
    if ((chosen && chosen->module == module) != loaded) return false;
  }
  return true;
}

Result<BpfTracer::Moved> BpfTracer::load_moved(const HookChoice& choice, std::string& refused_program) {
  auto obj = open_bpf_object(options_.object);
  if (!obj) return obj.error();
  const std::set<std::string> wanted(choice.programs.begin(), choice.programs.end());
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj->get()) {
    bpf_program__set_autoload(prog, wanted.count(bpf_program__name(prog)) > 0);
  }
  // Same ELF, same maps: every map but the kprobes' entry maps is the
  // running object's own (events, counters, the syscall pending maps,
  // .rodata), so events land in the one ring buffer and the counters add
  // up. An entry map pairs a kprobe with its kretprobe, both loaded here:
  // it is made afresh, full size for ours, one entry for the rest (the
  // running object's may have been shrunk for programs it did not load).
  if (int err = shrink_unused_entry_maps(obj->get(), wanted))
    return Error::from_errno("sizing the kprobes' entry maps", -err);
  bpf_map* map;
  bpf_object__for_each_map(map, obj->get()) {
    if (!entry_map_program(bpf_map__name(map)).empty()) continue;
    const bpf_map* running = bpf_object__find_map_by_name(obj_.get(), bpf_map__name(map));
    if (!running) return Error{std::string("the running BPF object has no map ") + bpf_map__name(map)};
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(running)))
      return Error::from_errno(std::string("sharing the map ") + bpf_map__name(map), -err);
  }
  LibbpfLogCapture capture;
  if (int err = bpf_object__load(obj->get())) {
    refused_program = refused_program_in(capture.tail(40));
    if (!refused_program.empty()) refusals_.push_back(refused_program + ": " + capture.tail(3));
    return Error{"loading " + (refused_program.empty() ? std::string("the hook's programs") : refused_program) +
                     ": " + std::strerror(-err),
                 -err};
  }
  std::string failed;
  auto links = attach_loaded(obj->get(), attached_in_, refusals_, failed);
  if (!failed.empty()) {
    refused_program = failed;
    return Error{refusals_.back()};
  }
  return Moved{std::move(*obj), std::move(links)};
}

std::vector<HookMoved> BpfTracer::module_changed(const std::string& module, bool loaded) {
  std::vector<HookMoved> out;
  for (auto& current : hooks_) {
    const Hook* hook = hook_named(current.hook);
    if (!hook || !names_module(*hook, module)) continue;
    HookMoved moved{current.hook, module, loaded, current.tier, current.programs, choice_kind(*hook, current),
                    current, choice_kind(*hook, current), ""};
    std::optional<Moved> made;
    HookChoice next;
    for (int attempt = 0; attempt < kMaxLoadAttempts && !made; ++attempt) {
      next = choose_hooks({*hook}, *features_, refused_, options_.tier).front();
      if (next.programs == current.programs) break;
      if (next.programs.empty()) {
        made.emplace();  // nothing to load: the old programs just go
        break;
      }
      std::string refused_program;
      auto loaded_now = load_moved(next, refused_program);
      if (loaded_now) {
        made = std::move(*loaded_now);
      } else {
        moved.error = loaded_now.error().message;
        if (refused_program.empty() || refused_.count(refused_program)) break;
        refused_.insert(refused_program);  // and choose again without it
      }
    }
    if (!made) {
      if (next.programs != current.programs && !moved.error.empty()) out.push_back(std::move(moved));
      continue;
    }
    // The new programs are attached: only now do the old ones go.
    for (bpf_link* link : links_[current.hook]) bpf_link__destroy(link);
    for (const auto& program : current.programs)  // attach_loaded named the new ones' BTF objects
      if (std::find(next.programs.begin(), next.programs.end(), program) == next.programs.end())
        attached_in_.erase(program);
    links_[current.hook] = std::move(made->links);
    moved_objects_.erase(current.hook);  // the old programs' own object, if they had one
    if (made->obj) moved_objects_[current.hook] = std::move(made->obj);
    current = next;
    moved.error.clear();
    moved.to = current;
    moved.to_kind = choice_kind(*hook, current);
    out.push_back(std::move(moved));
  }
  // Each failed try leaves its reason; a module loaded and removed over and
  // over must not grow them without end.
  constexpr size_t kMaxRefusals = 64;
  if (refusals_.size() > kMaxRefusals)
    refusals_.erase(refusals_.begin(), refusals_.end() - static_cast<std::ptrdiff_t>(kMaxRefusals));
  return out;
}

namespace {
// What on_sample returns to make libbpf stop: the sample it was handed is
// consumed, the rest wait for the next poll. No libbpf error uses it.
constexpr int kBudgetSpent = -ECANCELED;
}  // namespace

bool BpfTracer::budget_reached() {
  if (handled_ == 1) slice_end_ = std::chrono::steady_clock::now() + kPollSlice;
  if (handled_ >= max_events_per_poll_) return true;
  // The clock is cheap, but not free at a million events a second.
  return handled_ % 64 == 0 && std::chrono::steady_clock::now() >= slice_end_;
}

int BpfTracer::on_sample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<BpfTracer*>(ctx);
  ++self->handled_;
  if (auto event = decode_event(data, size)) {
    // An exception must not unwind through libbpf's C frames; the sink keeps
    // its own counters of what it could not handle, this one counts the rest.
    try {
      self->sink_.on_event(*event);
    } catch (...) {
      ++self->sink_failures_;
    }
  } else {
    ++self->short_samples_;
  }
  return self->budget_reached() ? kBudgetSpent : 0;
}

Result<int> BpfTracer::poll(int timeout_ms) {
  handled_ = 0;
  budget_spent_ = false;
  int n = ring_buffer__poll(ring_, timeout_ms);
  // Mount events are submitted without a wakeup (bpf/common.bpf.h): a
  // quiet poll still has to read what arrived meanwhile.
  if (n == 0) n = ring_buffer__consume(ring_);
  if (n == kBudgetSpent) {
    budget_spent_ = true;
    ++poll_budget_hits_;
    return static_cast<int>(handled_);
  }
  if (n == -EINTR) return static_cast<int>(handled_);
  if (n < 0) return Error::from_errno("polling the ring buffer", -n);
  return n;
}

KernelCounters BpfTracer::counters() const {
  KernelCounters out;
  out.short_samples = short_samples_;
  out.sink_failures = sink_failures_;
  out.poll_budget_hits = poll_budget_hits_;
  if (counters_fd_ < 0) return out;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return out;
  std::vector<uint64_t> per_cpu(cpus);
  auto sum = [&](uint32_t key) {
    uint64_t total = 0;
    if (bpf_map_lookup_elem(counters_fd_, &key, per_cpu.data()) == 0)
      for (uint64_t v : per_cpu) total += v;
    return total;
  };
  out.emitted = sum(ML_CNT_EMITTED);
  out.dropped_ringbuf = sum(ML_CNT_DROPPED_RINGBUF);
  out.dropped_pending = sum(ML_CNT_DROPPED_PENDING);
  out.missed_entry = sum(ML_CNT_MISSED_ENTRY);
  return out;
}

}  // namespace mountleak
