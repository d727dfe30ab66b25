#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ferry::log {

namespace {

std::atomic<int> threshold_{static_cast<int>(level::info)};
std::mutex mtx_;
std::string name_ = "ferry";

const char* level_name(level lvl) {
  switch (lvl) {
    case level::error: return "error";
    case level::warning: return "warning";
    case level::info: return "info";
    case level::debug: return "debug";
  }
  return "?";
}

} // namespace

bool parse_level(const std::string& text, level& out) {
  for (auto lvl : {level::error, level::warning, level::info, level::debug}) {
    if (text == level_name(lvl)) {
      out = lvl;
      return true;
    }
  }
  if (text == "warn") {
    out = level::warning;
    return true;
  }
  return false;
}

void setup(level threshold, std::string process_name) {
  threshold_ = static_cast<int>(threshold);
  std::lock_guard<std::mutex> guard{mtx_};
  name_ = std::move(process_name);
}

bool enabled(level lvl) {
  return static_cast<int>(lvl) <= threshold_.load(std::memory_order_relaxed);
}

void write(level lvl, const char* component, const std::string& text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> guard{mtx_};
  std::fprintf(stderr, "%s.%03dZ %s %s %s: %s\n", stamp, static_cast<int>(ms),
               name_.c_str(), level_name(lvl), component, text.c_str());
  std::fflush(stderr);
}

std::string escape(const std::string& text, size_t max) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  size_t n = 0;
  for (unsigned char c : text) {
    if (n++ == max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

} // namespace ferry::log
