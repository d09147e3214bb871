#pragma once
// Runs hit with `-o json` and parses its report; the exit code is checked (a failed check is
// reported by GoogleTest, the parse still runs so that the test shows what came back).

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace hit::test {

inline nlohmann::json run_json(std::vector<std::string> args, int expected_exit = 0,
                               std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  args.insert(args.end(), {"-o", "json"});
  const auto r = run_hit(args, deadline);
  EXPECT_EQ(r.exit_code, expected_exit) << r.err;
  return nlohmann::json::parse(r.out);
}

// Runs `hit ARGS` and checks that it refused them as bad input: exit 2, one line on stderr that
// contains `says`, nothing on stdout.
inline void expect_usage_error(const std::vector<std::string>& args, const std::string& says) {
  const auto r = run_hit(args, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(says), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace hit::test
