#include "drivers/job_journal.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/clock.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using json = nlohmann::json;

json to_json(const job_record& r) {
  return {{"job", r.job_id},
          {"role", to_string(r.role)},
          {"domain", r.domain},
          {"driver", r.driver},
          {"phase", to_string(r.phase)},
          {"was_running", r.was_running},
          {"undefine_source", r.undefine_source},
          {"dest_uri", r.dest_uri},
          {"updated_ms", r.updated_ms}};
}

std::optional<job_record> from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  job_record r;
  try {
    r.job_id = j.at("job").get<std::string>();
    auto role = parse_job_role(j.at("role").get<std::string>());
    auto phase = parse_phase(j.at("phase").get<std::string>());
    if (!role || !phase || role_of(*phase) != role)
      return std::nullopt;
    r.role = *role;
    r.phase = *phase;
    r.domain = j.at("domain").get<std::string>();
    r.driver = j.value("driver", "");
    r.was_running = j.value("was_running", false);
    r.undefine_source = j.value("undefine_source", false);
    r.dest_uri = j.value("dest_uri", "");
    r.updated_ms = j.value("updated_ms", int64_t{0});
  } catch (const json::exception&) {
    return std::nullopt;
  }
  if (r.job_id.empty() || r.job_id.find('/') != std::string::npos)
    return std::nullopt;
  return r;
}

bool finished(const job_record& r) {
  return r.role == job_role::destination && is_final(r.phase);
}

} // namespace

files::durability job_journal::durability_of(const job_record& rec) {
  bool hot = (rec.role == job_role::source
              && (rec.phase == mig_phase::begin
                  || rec.phase == mig_phase::perform
                  || rec.phase == mig_phase::verified))
             || (rec.role == job_role::destination
                 && rec.phase == mig_phase::prepare);
  return hot ? files::durability::process_crash
             : files::durability::host_crash;
}

job_journal::job_journal(std::string dir, size_t keep)
  : dir_(std::move(dir)), keep_(keep) {
}

void job_journal::prune() {
  prune(keep_);
}

std::string job_journal::path_of(const std::string& job_id) const {
  return dir_ + "/" + job_id + ".json";
}

caf::error job_journal::open() {
  if (auto err = files::make_dirs(dir_))
    return err;
  std::lock_guard<std::mutex> guard{mtx_};
  records_.clear();
  finished_.clear();
  for (auto& name : files::list(dir_, ".json")) {
    auto text = files::read(dir_ + "/" + name, 64 * 1024);
    auto rec = text ? from_json(*text) : std::nullopt;
    if (!rec) {
      FERRY_ERROR("journal", "skipping unreadable job record " << name);
      continue;
    }
    records_[rec->job_id] = std::move(*rec);
  }
  pruned_before_ms_ = 0;
  if (auto text = files::read(watermark_path(), 64)) {
    try {
      pruned_before_ms_ = std::stoll(*text);
    } catch (const std::exception&) {
      FERRY_ERROR("journal", "ignoring unreadable " << watermark_path());
    }
  }
  return caf::none;
}

std::string job_journal::watermark_path() const {
  return dir_ + "/pruned-before";
}

int64_t job_journal::pruned_before_ms() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pruned_before_ms_;
}

bool job_journal::may_have_forgotten(int64_t created_ms) const {
  auto pruned = pruned_before_ms();
  return pruned > 0 && created_ms <= pruned + max_clock_skew_ms;
}

caf::error job_journal::write(job_record rec) {
  // Ids name files: never let one escape the directory.
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  if (rec.job_id.empty() || rec.job_id.size() > 64
      || !std::all_of(rec.job_id.begin(), rec.job_id.end(), hex))
    return make_error(errc::invalid_argument,
                      "job id '" + rec.job_id.substr(0, 80)
                        + "' is not a job id (hex digits)");
  rec.updated_ms = unix_ms();
  std::unique_lock<std::mutex> io{io_mtx_};
  if (auto err = files::write_atomic(path_of(rec.job_id),
                                     to_json(rec).dump(2) + "\n", 0600,
                                     durability_of(rec)))
    return err;
  // The file is written first: a reader never sees a phase (a commit, say)
  // that a crash could still take back.
  bool done = finished(rec);
  bool prune_now = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (done) {
      records_.erase(rec.job_id);
      finished_[rec.job_id] = finished_entry{std::move(rec.domain),
                                             std::move(rec.driver),
                                             rec.phase,
                                             rec.updated_ms};
    } else {
      finished_.erase(rec.job_id);
      records_[rec.job_id] = std::move(rec);
    }
    if (done && ++finished_since_prune_ >= prune_every) {
      finished_since_prune_ = 0;
      prune_now = true;
    }
  }
  io.unlock();
  if (prune_now)
    prune(); // a long-running agent must not grow with its history
  return caf::none;
}

caf::error job_journal::remove(const std::string& job_id) {
  std::lock_guard<std::mutex> io{io_mtx_};
  {
    std::lock_guard<std::mutex> guard{mtx_};
    records_.erase(job_id);
    finished_.erase(job_id);
  }
  // A removal lost to a host crash brings back a finished record: the
  // restarted agent then asks or cleans up again, which is idempotent.
  return files::remove(path_of(job_id), files::durability::process_crash);
}

std::vector<job_record> job_journal::records() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<job_record> out;
  for (auto& [id, r] : records_)
    out.push_back(r);
  for (auto& [id, e] : finished_)
    out.push_back(expand(id, e));
  return out;
}

job_record job_journal::expand(const std::string& job_id,
                               const finished_entry& e) {
  job_record r;
  r.job_id = job_id;
  r.role = job_role::destination;
  r.domain = e.domain;
  r.driver = e.driver;
  r.phase = e.phase;
  r.updated_ms = e.updated_ms;
  return r;
}

std::optional<job_record> job_journal::find(const std::string& job_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = records_.find(job_id); i != records_.end())
    return i->second;
  if (auto i = finished_.find(job_id); i != finished_.end())
    return expand(job_id, i->second);
  return std::nullopt;
}

void job_journal::prune(size_t keep) {
  std::lock_guard<std::mutex> one_prune{prune_mtx_};
  std::vector<job_record> done;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, r] : records_)
      if (finished(r))
        done.push_back(r);
    for (auto& [id, e] : finished_)
      done.push_back(expand(id, e));
  }
  if (done.size() <= keep)
    return;
  std::sort(done.begin(), done.end(), [](auto& a, auto& b) {
    return a.updated_ms < b.updated_ms;
  });
  // The watermark is durable before any record goes: a crash in between
  // makes the destination answer "forgotten" for a job it still has on
  // disk, never "not committed" for one it forgot.
  auto newest_pruned = done[done.size() - keep - 1].updated_ms;
  if (newest_pruned > pruned_before_ms()) {
    // prune_mtx_ makes this compare-and-write atomic among prunes.
    if (auto err = files::write_atomic(watermark_path(),
                                       std::to_string(newest_pruned) + "\n",
                                       0600, files::durability::host_crash)) {
      FERRY_ERROR("journal", "not pruning: cannot record the watermark: "
                               << error_text(err));
      return;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    pruned_before_ms_ = newest_pruned;
  }
  for (size_t i = 0; i + keep < done.size(); ++i)
    remove(done[i].job_id);
  FERRY_INFO("journal", "pruned " << done.size() - keep
                                  << " finished job record(s); a source "
                                     "asking about a job created before "
                                  << newest_pruned
                                  << " (Unix ms) is told it was forgotten");
}

} // namespace ferry
