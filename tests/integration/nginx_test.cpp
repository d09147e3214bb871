// hit against a stock nginx on loopback (started here, on a free port, with a config of ours).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "harness.hpp"

using hit::test::free_port;

TEST(nginx, two_thousand_requests_all_200) {
  if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
  const auto dir =
      std::filesystem::temp_directory_path() / ("hit-nginx-" + std::to_string(getpid()));
  const unsigned short port = free_port();
  auto srv = std::make_unique<hit::test::nginx>(
      dir,
      "  keepalive_requests 100000;\n  server { listen 127.0.0.1:" + std::to_string(port) +
          ";\n    location / { return 200 \"hello from nginx\\n\"; } }\n",
      std::vector<unsigned short>{port});
  ASSERT_TRUE(srv->up()) << "nginx did not start";

  const auto r = hit::test::run_hit(
      {"-n", "2000", "-c", "20", "http://127.0.0.1:" + std::to_string(port) + "/", "-o", "json"});
  srv.reset();
  std::filesystem::remove_all(dir);

  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 2000);
}
