// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which hook is served by which tier. For every hook mountleak needs there
// is a list of candidates in order of preference (kernel tier first, the
// syscall tracepoints last); the first whose program type this kernel
// accepts, whose module (if any) is loaded, whose programs' kernel
// functions this kernel's BTF has, and whose programs it did not refuse,
// wins. The answers come from a FeatureSource that really loads programs
// and reads BTF (see sources/bpf/kernel_features.h); tests substitute their
// own. What BTF cannot foresee (a verifier's refusal, an attach that
// fails) the loader (sources/bpf/tracer.h) feeds back in as `refused`, its
// last resort, and `probe` reports what that loader ends up with.
//
// The table names the BPF object's programs; tests/unit/hook_table_test.cpp
// holds the two to each other both ways.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mountleak {

enum class ProgramKind { kTracepoint, kRawTracepoint, kFentry, kFexit, kKprobe, kLsm, kRingbuf };
inline constexpr ProgramKind kAllProgramKinds[] = {
    ProgramKind::kTracepoint, ProgramKind::kRawTracepoint, ProgramKind::kFentry,
    ProgramKind::kFexit,      ProgramKind::kKprobe,        ProgramKind::kLsm,
    ProgramKind::kRingbuf};

std::string_view program_kind_name(ProgramKind kind);
std::optional<ProgramKind> program_kind_from_name(std::string_view name);

struct FeatureProbe {
  bool available = false;
  std::string detail;  // "loaded and attached", "load refused: Operation not permitted", ...
};

class FeatureSource {
 public:
  virtual ~FeatureSource() = default;
  virtual FeatureProbe probe(ProgramKind kind) = 0;
  // Whether the kernel module `name` is loaded (its functions and their BTF
  // exist only then). The default cannot tell and says yes: loading the
  // programs then decides.
  virtual bool module_loaded(const std::string& /*name*/) { return true; }
  // Why `program` cannot load on this kernel though its program type does
  // (its kernel function is not in the kernel's BTF, say, or a module's
  // function would be bound to vmlinux's); empty when it can, or when the
  // source cannot tell (loading then decides). Asked before any load.
  virtual std::string program_unusable(const std::string& /*program*/) { return ""; }
};

// Answers "not available (disabled by --no-feature)" for the kinds it was
// told to hide and asks the wrapped source for the rest, so every fallback
// tier can be exercised on a kernel that offers more.
class RestrictedFeatures : public FeatureSource {
 public:
  RestrictedFeatures(FeatureSource& inner, std::set<ProgramKind> disabled)
      : inner_(inner), disabled_(std::move(disabled)) {}
  FeatureProbe probe(ProgramKind kind) override;
  bool module_loaded(const std::string& name) override { return inner_.module_loaded(name); }
  std::string program_unusable(const std::string& program) override { return inner_.program_unusable(program); }

 private:
  FeatureSource& inner_;
  std::set<ProgramKind> disabled_;
};

// Parses "--no-feature fentry,kprobe": "fentry" hides fentry and fexit.
std::optional<std::set<ProgramKind>> parse_disabled_features(const std::vector<std::string>& names,
                                                             std::string* bad_name);

enum class Tier {
  kKernel,      // fentry/fexit/kprobe/LSM on the kernel functions themselves
  kTracepoint,  // syscall tracepoints and raw tracepoints
  kReconcile,   // no hook: the collector re-reads mountinfo instead
  // No syscall tracepoint at all: fork and exec raw tracepoints, and the
  // kernel's POLLPRI on each namespace's mountinfo (sources/mountinfo_watch.h).
  // Chosen only when asked for (--tier passive).
  kPassive,
};
std::string_view tier_name(Tier tier);

// What `--tier` asks for: kAuto takes the best candidate of every hook that
// this kernel serves (never the passive one); the others take only their
// own tier's candidates (and, for propagation, the reconcile one).
enum class TierChoice { kAuto, kKernel, kTracepoint, kPassive };
std::string_view tier_choice_name(TierChoice choice);
std::optional<TierChoice> tier_choice_from_name(std::string_view name);

// A program of the BPF object: its C name there, and the kind of section
// it is in (SEC("?fexit/...") is kFexit, a kretprobe kKprobe).
struct HookProgram {
  ProgramKind kind;
  std::string name;
};

struct HookCandidate {
  Tier tier;
  std::optional<ProgramKind> needs;   // none for kReconcile
  std::vector<HookProgram> programs;
  std::string module = {};            // the kernel module they attach to; empty: vmlinux
  std::string note = {};              // a candidate without programs: what serves the hook instead
};

struct Hook {
  std::string name;
  std::string description;
  std::vector<HookCandidate> candidates;
};

struct HookChoice {
  std::string hook;
  std::optional<Tier> tier;  // none: no candidate is usable
  std::vector<std::string> programs;
  std::string reason;  // why this candidate, or why none
};

// mountleak's hooks and their candidates, best first.
const std::vector<Hook>& mountleak_hooks();

// The programs `probe` loads one at a time to learn whether a program type
// loads at all (bpf/probe.bpf.c); they serve no hook.
struct ProbeProgram {
  ProgramKind probes;  // the answer it gives
  HookProgram program;  // the ring buffer is probed from a tracepoint
};
const std::vector<ProbeProgram>& probe_programs();
// The probe program for `kind`; null when there is none.
const HookProgram* probe_program_for(ProgramKind kind);

// Picks one candidate per hook among those `tier` allows. `refused` names
// programs the kernel has already refused to load; candidates that contain
// one are passed over.
std::vector<HookChoice> choose_hooks(const std::vector<Hook>& hooks, FeatureSource& features,
                                     const std::set<std::string>& refused = {}, TierChoice tier = TierChoice::kAuto);
// Whether `--tier choice` lets a candidate of `tier` serve a hook.
bool tier_allows(TierChoice choice, Tier tier);
// Whether `hook` has a candidate `choice` allows at all (the busy hooks have
// none on the passive tier: they are off there by design, not missing).
bool has_candidate_on(const Hook& hook, TierChoice choice);

// "the rbd module is not loaded": choose_hooks's words for a candidate
// passed over for its module, which trace's module watch reads back.
std::string module_not_loaded(const std::string& module);

// The candidate of `hook` that `choice` took (same programs); null when none.
const HookCandidate* chosen_candidate(const Hook& hook, const HookChoice& choice);
// "fexit", "kprobe", "tracepoint", "reconcile": how a choice is served.
std::string choice_kind(const Hook& hook, const HookChoice& choice);

// The kernel modules whose coming or going can change `choice`'s hook:
// one its candidates were passed over for (choose_hooks said the module is
// not loaded), and the chosen candidate's, unless that candidate holds it. A trampoline (fentry/fexit) on a module's function takes a
// reference on the module, so the module cannot go while the program is
// attached (measured in the vm lane: rmmod fails); a kprobe does not.
std::set<std::string> modules_that_move(const Hook& hook, const HookChoice& choice);

}  // namespace mountleak
