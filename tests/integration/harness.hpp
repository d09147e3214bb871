#pragma once
// Runs the real `hit` binary as a child process, and `hit serve` on an ephemeral loopback port.
// Every child has a deadline: a hang kills it and fails the test instead of stalling CI.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace hit::test {

struct child {
  pid_t pid = -1;
  int out = -1;  // read ends of the child's stdout and stderr
  int err = -1;
};

// The longest a server a test starts may live: a bound should the test die without stopping
// it (ctest's own limit per test binary is lower).
inline constexpr int lifetime_s = 900;

inline child spawn(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  child c;
  if (posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

struct result {
  int exit_code = -1;  // -1: killed by the deadline
  std::string out;
  std::string err;
  double seconds = 0;
  long max_rss_kib = 0;  // the child's peak resident set
};

// How long output is still collected after the deadline's SIGKILL: a descendant the kill did
// not reach may hold the pipes open, and the test must end all the same.
inline constexpr std::chrono::seconds after_kill{5};

// Collects the child's output until it exits; kills it at `deadline`, and its process group
// too (timeout(1) leads one, so a server started under it dies with it). Calls `tick` every
// 50 ms with the elapsed time (to send signals mid-run).
template <class Tick>
result finish(child c, std::chrono::milliseconds deadline, Tick tick) {
  result r;
  const auto start = std::chrono::steady_clock::now();
  bool out_open = true, err_open = true, killed = false;
  while (out_open || err_open) {
    if (killed && std::chrono::steady_clock::now() - start > deadline + after_kill) {
      r.err += "\n[harness: output abandoned " + std::to_string(after_kill.count()) +
               " s after the deadline's kill; a descendant still held it]\n";
      break;
    }
    pollfd fds[2] = {{out_open ? c.out : -1, POLLIN, 0}, {err_open ? c.err : -1, POLLIN, 0}};
    poll(fds, 2, 50);
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const auto n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    tick(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed));
    if (elapsed > deadline && !killed) {
      const bool leads_group = getpgid(c.pid) == c.pid;
      kill(c.pid, SIGKILL);
      if (leads_group) kill(-c.pid, SIGKILL);
      killed = true;
    }
  }
  int status = 0;
  rusage usage{};
  wait4(c.pid, &status, 0, &usage);
  r.max_rss_kib = usage.ru_maxrss;
  close(c.out);
  close(c.err);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exit_code = killed ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return r;
}

inline result run_hit(std::vector<std::string> args,
                      std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  args.insert(args.begin(), HIT_EXE);
  return finish(spawn(args), deadline, [](auto) {});
}

// Stops a child started under timeout(1) and collects what it printed. SIGTERM goes to the
// process group timeout leads, not to timeout alone: coreutils 9.1's timeout exits without
// passing on a SIGTERM that arrives before fork() has returned in it, which left `hit serve`
// running and a test waiting on its pipes (seen in CI with a server stopped right after it
// printed its first line).
inline result stop_under_timeout(const child& c,
                                 std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  if (getpgid(c.pid) == c.pid)
    kill(-c.pid, SIGTERM);
  else
    kill(c.pid, SIGTERM);
  return finish(c, deadline, [](auto) {});
}

// Runs `hit ARGS` and sends it `sig` once `at` has passed (`times` signals, 5 ms apart: two is
// what `timeout -s INT` does, to the process and then its group).
inline result run_hit_and_signal(std::vector<std::string> args, int sig,
                                 std::chrono::milliseconds at, int times = 1,
                                 std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  args.insert(args.begin(), HIT_EXE);
  const child c = spawn(args);
  bool sent = false;
  return finish(c, deadline, [&](std::chrono::milliseconds t) {
    if (sent || t < at) return;
    for (int i = 0; i < times; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      kill(c.pid, sig);
    }
    sent = true;
  });
}

// A directory for a test's files, named after the running test, removed with them.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix)
      : path(std::filesystem::temp_directory_path() /
             (prefix + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Waits for every child (each bounded by `deadline`); each must exit 0.
inline void expect_all_succeed(std::vector<child> children, std::chrono::milliseconds deadline) {
  for (auto& c : children) {
    const auto r = finish(c, deadline, [](auto) {});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

// A file of `mib` MiB of `fill` in the test's temporary directory, removed when destroyed.
class temp_file {
 public:
  temp_file(const std::string& name, int mib, char fill) : path_("/tmp/hit_test_" + name) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("cannot write " + path_);
    const std::string chunk(1 << 20, fill);
    for (int i = 0; i < mib; ++i) std::fwrite(chunk.data(), 1, chunk.size(), f);
    std::fclose(f);
  }
  ~temp_file() { std::remove(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `hit ARGS` through bash with `before` and `after` around it (redirections, ulimit), e.g.
// run_hit_in_shell("ulimit -n 64;", "> /dev/full", {...}). Arguments are single-quoted.
inline result run_hit_in_shell(const std::string& before, const std::string& after,
                               const std::vector<std::string>& args,
                               std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  std::string cmd = before + " exec " + HIT_EXE;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " " + after;
  return finish(spawn({"/bin/bash", "-c", cmd}), deadline, [](auto) {});
}

// A loopback port free a moment ago (for servers that take a port, not 0).
inline unsigned short free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A loopback port that refuses connections for as long as this lives: bound, never listening,
// so no other process (a test running alongside) can take it.
class refusing_port {
 public:
  refusing_port() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(a.sin_port);
  }
  ~refusing_port() { close(fd_); }
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/";
  }

 private:
  int fd_;
  unsigned short port_ = 0;
};

// Something accepts TCP connections on 127.0.0.1:port.
inline bool accepting(unsigned short port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// A stock nginx (one worker, in the foreground, /usr/sbin/nginx) in `dir`, whose http block is
// `http` (access log off; temporary files in `dir`); up() once every port in `ports` accepts.
// Stopped by SIGTERM when destroyed. installed() is false without nginx (scripts/setup).
class nginx {
 public:
  static constexpr const char* path = "/usr/sbin/nginx";
  static bool installed() { return std::filesystem::exists(path); }

  nginx(const std::filesystem::path& dir, const std::string& http,
        const std::vector<unsigned short>& ports) {
    std::filesystem::create_directories(dir / "logs");
    const std::string d = dir.string() + "/";
    std::ofstream(dir / "nginx.conf")
        << "worker_processes 1;\ndaemon off;\nmaster_process off;\n"
        << "error_log " << d << "logs/error.log;\npid " << d << "nginx.pid;\n"
        << "events { worker_connections 1024; }\n"
        << "http { access_log off; client_body_temp_path " << d << ";\n"
        << http << "}\n";
    // Bounded by timeout(1) should the test die without its destructor (SIGTERM to timeout is
    // passed on to nginx).
    c_ = spawn({"/usr/bin/timeout", "-k", "5", std::to_string(lifetime_s), path, "-p", d, "-c",
                d + "nginx.conf", "-e", "stderr"});
    auto all = [&] {
      for (auto p : ports)
        if (!accepting(p)) return false;
      return true;
    };
    for (int i = 0; i < 100 && !all(); ++i) usleep(50'000);
    up_ = all();
  }
  ~nginx() {
    if (stop_under_timeout(c_).exit_code == -1)
      ADD_FAILURE() << "nginx did not stop within 10 s of SIGTERM";
  }
  nginx(const nginx&) = delete;
  nginx& operator=(const nginx&) = delete;
  [[nodiscard]] bool up() const { return up_; }

 private:
  child c_;
  bool up_ = false;
};

// `hit serve` on 127.0.0.1, an ephemeral port; stopped with SIGTERM when destroyed (and by
// timeout(1) after lifetime_s, should the test die first).
class server {
 public:
  explicit server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "/usr/bin/timeout", "-k",         "5", std::to_string(lifetime_s), HIT_EXE, "serve",
        "--listen",         "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    c_ = spawn(args);
    // First line: "listening on http://127.0.0.1:PORT/" (https:// with --tls).
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("server did not start");
      pollfd p{c_.out, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char ch[256];
        const auto n = read(c_.out, ch, sizeof ch);
        if (n <= 0) throw std::runtime_error("server exited: " + line);
        line.append(ch, static_cast<std::size_t>(n));
      }
    }
    const auto at = line.find("http");
    url_ = line.substr(at, line.find('\n') - at);
  }
  ~server() {
    if (stop_under_timeout(c_).exit_code == -1)
      ADD_FAILURE() << "hit serve did not stop within 10 s of SIGTERM";
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // "http://127.0.0.1:PORT/" (or https://) + path_and_query (without the leading slash).
  [[nodiscard]] std::string url(const std::string& rest = "") const { return url_ + rest; }

 private:
  child c_;
  std::string url_;
};

}  // namespace hit::test
