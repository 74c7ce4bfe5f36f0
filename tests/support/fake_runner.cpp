#include "support/fake_runner.hpp"

#include <algorithm>

namespace holdfast::test {

namespace {

bool starts_with(const std::vector<std::string>& argv, const std::vector<std::string>& prefix) {
  return prefix.size() <= argv.size() && std::equal(prefix.begin(), prefix.end(), argv.begin());
}

}  // namespace

CommandResult FakeRunner::run(const std::vector<std::string>& argv, Deadline deadline,
                              const std::string& stdin_data) {
  Callback callback;
  {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(Call{argv, stdin_data});
    callback = m_callback;
  }
  if (callback) {
    if (auto result = callback(argv, stdin_data, deadline)) {
      return *result;
    }
  }
  std::lock_guard lock(m_mutex);
  const Script* best = nullptr;
  for (const auto& script : m_scripts) {
    // Later scripts of equal length override earlier ones.
    if (starts_with(argv, script.prefix) &&
        (best == nullptr || script.prefix.size() >= best->prefix.size())) {
      best = &script;
    }
  }
  if (best == nullptr) {
    CommandResult ok;
    ok.exit_code = 0;
    return ok;
  }
  if (best->start_error) {
    throw *best->start_error;
  }
  return *best->result;
}

void FakeRunner::on(std::vector<std::string> prefix, CommandResult result) {
  std::lock_guard lock(m_mutex);
  m_scripts.push_back(Script{std::move(prefix), std::move(result), std::nullopt});
}

void FakeRunner::on(std::vector<std::string> prefix, int exit_code, std::string out,
                    std::string err) {
  CommandResult result;
  result.exit_code = exit_code;
  result.out = std::move(out);
  result.err = std::move(err);
  on(std::move(prefix), std::move(result));
}

void FakeRunner::fail_to_start(std::vector<std::string> prefix, Error error) {
  std::lock_guard lock(m_mutex);
  m_scripts.push_back(Script{std::move(prefix), std::nullopt, std::move(error)});
}

void FakeRunner::on_call(Callback callback) {
  std::lock_guard lock(m_mutex);
  m_callback = std::move(callback);
}

std::vector<FakeRunner::Call> FakeRunner::calls() const {
  std::lock_guard lock(m_mutex);
  return m_calls;
}

std::vector<std::vector<std::string>> FakeRunner::argvs() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::vector<std::string>> out;
  out.reserve(m_calls.size());
  for (const auto& c : m_calls) {
    out.push_back(c.argv);
  }
  return out;
}

std::size_t FakeRunner::count(const std::vector<std::string>& prefix) const {
  std::lock_guard lock(m_mutex);
  return static_cast<std::size_t>(std::count_if(
      m_calls.begin(), m_calls.end(), [&](const Call& c) { return starts_with(c.argv, prefix); }));
}

void FakeRunner::clear_calls() {
  std::lock_guard lock(m_mutex);
  m_calls.clear();
}

void FakeRunner::reset_scripts() {
  std::lock_guard lock(m_mutex);
  m_scripts.clear();
  m_callback = nullptr;
}

std::string FakeRunner::join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += a;
  }
  return out;
}

}  // namespace holdfast::test
