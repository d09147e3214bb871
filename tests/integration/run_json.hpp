#pragma once
// Runs hit with `-o json` and parses its report; the exit code is checked (a failed check is
// reported by GoogleTest, the parse still runs so that the test shows what came back).

#include <gtest/gtest.h>

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

}  // namespace hit::test
