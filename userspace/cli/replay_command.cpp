// SPDX-License-Identifier: Apache-2.0
#include "cli/replay_command.h"

#include <fmt/core.h>

#include <cstring>
#include <memory>
#include <string>

#include "cli/common_options.h"
#include "output/printable.h"
#include "output/stream_sink.h"
#include "postmortem/replay.h"

namespace mountleak {

namespace {

struct ReplayOptions {
  std::string log_path;
  OutputFormat output = OutputFormat::kTable;
  bool quiet = false;
};

int run_replay(const ReplayOptions& options) {
  std::unique_ptr<StreamSink> sink;
  if (options.output == OutputFormat::kJson)
    sink = std::make_unique<JsonLinesSink>(stdout, false);
  else
    sink = std::make_unique<LiveViewSink>(stdout, false);
  ReplayCounters counters;
  std::vector<std::string> warnings;
  Status done = replay_log(options.log_path, *sink, counters, warnings);
  sink->flush();
  // The log quotes containers nobody vetted: said safely.
  for (const auto& w : warnings) fmt::print(stderr, "mountleak replay: {}\n", printable(w));
  for (const auto& b : counters.bad_examples) fmt::print(stderr, "mountleak replay: skipped {}\n", printable(b));
  for (const auto& q : counters.unanswered_examples)
    fmt::print(stderr, "mountleak replay: not in the log: {}\n", printable(q));
  if (!done) {
    fmt::print(stderr, "mountleak replay: {}\n", printable(done.error().message));
    return kExitError;
  }
  if (!options.quiet || counters.bad_lines || counters.unreplayable || counters.unanswered)
    fmt::print(stderr,
               "mountleak replay: {} lines, {} runs of trace, {} kernel events fed, {} recorded answers, "
               "{} findings; {} lines unreadable, {} events before any recorded snapshot, "
               "{} questions the log did not answer\n",
               counters.lines, counters.runs, counters.events, counters.facts, counters.findings,
               counters.bad_lines, counters.unreplayable, counters.unanswered);
  if (counters.runs == 0) {
    fmt::print(stderr,
               "mountleak replay: {} holds no recorded snapshot: it was not written by `mountleak trace --log` "
               "of a version that records what replay needs\n",
               printable(options.log_path));
    return kExitError;
  }
  if (const int err = sink->stream_errno(); err != 0 && err != EPIPE) {
    fmt::print(stderr, "mountleak replay: writing to stdout: {}\n", std::strerror(err));
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

void register_replay_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Feed a trace log's kernel events through the collector again, offline, and print the findings");
  cmd->footer(
      "A log written by `mountleak trace --log FILE` holds every raw kernel event and\n"
      "what the tracer read from the node for them (mount tables, processes and\n"
      "containers, devices). replay runs the same collector over them, without BPF,\n"
      "without root and without the node, with its clock following the log's times,\n"
      "and prints the findings it makes, as `trace` prints them: on a laptop, the\n"
      "questions a node's log answers; in a test, a recorded incident as a regression.\n"
      "Rotated files (FILE.N ... FILE.1, FILE, gzip ones too) are read oldest first; a\n"
      "torn last line (a crash mid-write) is skipped with a warning, and so is any line\n"
      "that cannot be read, counted on stderr. Several runs of trace in one log are\n"
      "replayed one after the other.\n\n"
      "Exit status: 0 replayed, 2 the log cannot be read or records nothing to replay.\n\n"
      "Examples:\n"
      "  mountleak replay --log /var/log/mountleak.jsonl\n"
      "  mountleak replay --log node7.jsonl -o json | jq 'select(.event == \"leak\")'\n"
      "  mountleak replay --log incident.jsonl -o json > expected.jsonl   (a regression test)");
  cmd->add_option("--log", options->log_path, "The log `trace --log` wrote (its rotations are read too)")
      ->required()
      ->check([](const std::string& p) { return p.empty() ? std::string("empty path") : std::string(); });
  add_output_option(*cmd, options->output, "one object per line, as trace -o json");
  cmd->add_flag("-q,--quiet", options->quiet, "No summary on stderr unless something was skipped");
  cmd->callback([options, &action] { action = [options] { return run_replay(*options); }; });
}

}  // namespace mountleak
