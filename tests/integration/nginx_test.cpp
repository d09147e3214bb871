// hit against a stock nginx on loopback (started here, on a free port, with a config of ours).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.hpp"

using hit::test::accepting;
using hit::test::free_port;

TEST(nginx, two_thousand_requests_all_200) {
  const char* nginx = "/usr/sbin/nginx";
  if (!std::filesystem::exists(nginx)) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
  const auto dir =
      std::filesystem::temp_directory_path() / ("hit-nginx-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "logs");
  const unsigned short port = free_port();
  std::ofstream(dir / "nginx.conf")
      << "worker_processes 1;\ndaemon off;\nmaster_process off;\n"
      << "error_log " << (dir / "logs/error.log").string() << ";\n"
      << "pid " << (dir / "nginx.pid").string() << ";\n"
      << "events { worker_connections 1024; }\n"
      << "http { access_log off; keepalive_requests 100000;\n"
      << "  client_body_temp_path " << dir.string() << ";\n"
      << "  server { listen 127.0.0.1:" << port << ";\n"
      << "    location / { return 200 \"hello from nginx\\n\"; } } }\n";
  auto srv = hit::test::spawn(
      {nginx, "-p", dir.string(), "-c", (dir / "nginx.conf").string(), "-e", "stderr"});
  for (int i = 0; i < 100 && !accepting(port); ++i) usleep(50'000);
  ASSERT_TRUE(accepting(port)) << "nginx did not start";

  const auto r = hit::test::run_hit(
      {"-n", "2000", "-c", "20", "http://127.0.0.1:" + std::to_string(port) + "/", "-o", "json"});
  kill(srv.pid, SIGTERM);
  hit::test::finish(srv, std::chrono::seconds(10), [](auto) {});
  std::filesystem::remove_all(dir);

  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 2000);
}
