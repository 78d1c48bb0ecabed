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

}  // namespace

Result<std::unique_ptr<BpfTracer>> BpfTracer::start(const TracerOptions& options,
                                                    FeatureSource& features, EventSink& sink) {
  std::unique_ptr<BpfTracer> tracer(new BpfTracer(sink, std::max(options.max_events_per_poll, 1u)));
  std::set<std::string> refused;

  for (int attempt = 0; attempt < kMaxLoadAttempts; ++attempt) {
    tracer->hooks_ = choose_hooks(mountleak_hooks(), features, refused);
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

    // Attach every loaded program; a failure drops that candidate too, and
    // so does a module's program that the kernel bound anywhere else.
    std::vector<bpf_link*> links;
    std::string attach_failure;
    tracer->attached_in_.clear();
    bpf_object__for_each_program(prog, obj->get()) {
      if (!bpf_program__autoload(prog)) continue;
      if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING) {
        const std::string name = bpf_program__name(prog);
        const std::string module = module_of_section(bpf_program__section_name(prog));
        auto where = attach_btf_object(bpf_program__fd(prog));
        if (where) tracer->attached_in_[name] = *where;
        std::string why_not;
        if (where && !module.empty() && *where != module)
          why_not = "bound in " + *where + "'s BTF, not " + module + "'s";
        else if (!module.empty())
          why_not = shadowed_by_vmlinux(bpf_program__section_name(prog));
        if (!why_not.empty()) {
          attach_failure = name;
          tracer->refusals_.push_back(name + ": " + why_not);
          break;
        }
      }
      auto link = attach_program(prog);
      if (!link) {
        attach_failure = bpf_program__name(prog);
        tracer->refusals_.push_back(attach_failure + ": attach failed: " + attach_failure_text(link.error()));
        break;
      }
      links.push_back(*link);
    }
    if (!attach_failure.empty()) {
      for (bpf_link* link : links) bpf_link__destroy(link);
      refused.insert(attach_failure);
      continue;
    }

    tracer->links_ = std::move(links);
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
  for (bpf_link* link : links_) bpf_link__destroy(link);
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
