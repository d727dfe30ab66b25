// Scenario verbs for migrations: migrate (foreground or background) and
// wait.

#include "messages/all.hpp"
#include "tools/scenario/scenario_runner.hpp"

namespace ferry::scenario {

void scenario_runner::add_job_verbs() {
  interp_.add(
    "migrate", "SRC DOM DST [FLAGS…] [uri=MIGRATEURI] [as JOB] [&]",
    "migrate DOM from node SRC to node DST (CLI flags; & = background)",
    [this](const std::vector<std::string>& a) -> caf::error {
      if (a.size() < 3)
        return make_error(errc::invalid_argument,
                          "usage: migrate SRC DOM DST [FLAGS...] [as JOB] [&]");
      auto src = a[0];
      auto dom = a[1];
      auto dst = a[2];
      node(src);
      node(dst);
      std::vector<std::string> flags;
      std::string name;
      std::string migrate_uri;
      bool background = false;
      for (size_t i = 3; i < a.size(); ++i) {
        if (a[i] == "&")
          background = true;
        else if (a[i].rfind("uri=", 0) == 0)
          migrate_uri = expand_addresses(a[i].substr(4));
        else if (a[i] == "as" && i + 1 < a.size())
          name = a[++i];
        else
          flags.push_back(expand_addresses(a[i])); // --listen-address={b}
      }
      auto has = [&](const char* f) {
        return std::find(flags.begin(), flags.end(), f) != flags.end();
      };
      bool direct = has("--direct");
      bool p2p = has("--p2p");
      // On loopback the source agent reaches the destination through the
      // link proxy (p2p, tunnelled, direct), so link faults apply; in
      // namespaces it uses the real address. In managed mode this runner is
      // the client and talks to both agents itself.
      auto dest = (p2p || direct) ? uri_for(src, dst, direct)
                                  : node(dst).uri();
      std::vector<std::string> words{"migrate"};
      words.insert(words.end(), flags.begin(), flags.end());
      words.push_back(dom);
      words.push_back(dest);
      if (!migrate_uri.empty())
        words.push_back(migrate_uri);
      if (name.empty())
        name = "job" + std::to_string(++anonymous_jobs_);
      if (jobs_.count(name) != 0)
        return make_error(errc::invalid_argument,
                          "a job named " + name + " exists already");
      auto job = std::make_unique<job_run>();
      job->name = name;
      job->source = src;
      job->domain = dom;
      auto* raw = job.get();
      jobs_[name] = std::move(job);
      if (!background) {
        raw->result = cli_on(src, words, &raw->output);
        raw->done = true;
        last_ = raw->result;
        last_output_ = raw->output;
        return caf::none;
      }
      raw->thread = std::thread{[this, raw, src, words] {
        // A poller keeps the job's last progress for failure reports and
        // for percentage triggers.
        std::atomic<bool> finished{false};
        std::thread poller{[this, raw, src, &finished] {
          auto s = settings_for(src, true);
          s.request_timeout = std::chrono::seconds{2};
          std::ostringstream sink;
          cli::context c{sys_, s, sink};
          while (!finished && !stopping_) {
            if (auto st = job_info(c, raw->domain)) {
              std::lock_guard<std::mutex> guard{raw->stats_mtx};
              raw->last_stats = *st;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{30});
          }
        }};
        raw->result = cli_on(src, words, &raw->output);
        finished = true;
        poller.join();
        raw->done = true;
      }};
      return caf::none;
    });
  interp_.add(
    "wait", "JOB [within DURATION]",
    "wait for a background migration (default bound 120s)",
    [this](const std::vector<std::string>& a) -> caf::error {
      if (a.empty())
        return make_error(errc::invalid_argument,
                          "usage: wait JOB [within DURATION]");
      auto i = jobs_.find(a[0]);
      if (i == jobs_.end())
        return make_error(errc::invalid_argument, "no job named " + a[0]);
      std::chrono::milliseconds bound{120000};
      if (a.size() == 3 && a[1] == "within") {
        auto d = parse_duration(a[2]);
        if (!d)
          return d.error();
        bound = *d;
      }
      auto deadline = std::chrono::steady_clock::now() + bound;
      auto& job = *i->second;
      while (!job.done) {
        if (std::chrono::steady_clock::now() > deadline)
          return make_error(errc::timeout, "job " + a[0] + " still runs after "
                                             + std::to_string(bound.count())
                                             + " ms");
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
      }
      if (job.thread.joinable())
        job.thread.join();
      last_ = job.result;
      last_output_ = job.output;
      return caf::none;
    });
}

} // namespace ferry::scenario
