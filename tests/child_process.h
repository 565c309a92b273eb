#pragma once
// Starting the s3rec binary (or any program) as a child process the test can kill, limit
// and wait for: fork + execvp, the environment and argument arrays built before the fork.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

extern char** environ;

namespace child {

struct Options {
  std::vector<std::string> env;  // NAME=VALUE set in the test's environment
  std::string output;            // stdout and stderr go here ("" = /dev/null)
  long file_size_limit = -1;     // RLIMIT_FSIZE in bytes (ulimit -f), -1 = unchanged
};

inline std::string s3rec_binary() { return std::string(S3REC_BINARY_DIR) + "/s3rec"; }

// argv[0] is the program (looked up in PATH when it has no slash).
inline pid_t spawn(const std::vector<std::string>& argv, const Options& o = {}) {
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (char** e = environ; *e; ++e) {  // the test's environment, less the names o.env sets
    bool replaced = false;
    for (const std::string& mine : o.env)
      replaced = replaced || std::string(*e).rfind(mine.substr(0, mine.find('=') + 1), 0) == 0;
    if (!replaced) envp.push_back(*e);
  }
  for (const std::string& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string out = o.output.empty() ? "/dev/null" : o.output;
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // the child: only async-signal-safe calls until exec
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) ::_exit(126);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  const int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) ::dup2(in, 0);
  if (o.file_size_limit >= 0) {
    const rlimit r{rlim_t(o.file_size_limit), rlim_t(o.file_size_limit)};
    if (::setrlimit(RLIMIT_FSIZE, &r) != 0) ::_exit(126);
  }
  ::environ = envp.data();
  ::execvp(args[0], args.data());
  ::_exit(127);
}

struct Exit {
  bool signaled = false;
  int code = -1;    // exit status when !signaled
  int signal = 0;   // the signal that ended it when signaled
};

inline Exit wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return {};
  Exit e;
  if (WIFSIGNALED(status)) {
    e.signaled = true;
    e.signal = WTERMSIG(status);
  } else {
    e.code = WEXITSTATUS(status);
  }
  return e;
}

inline Exit run(const std::vector<std::string>& argv, const Options& o = {}) { return wait(spawn(argv, o)); }

}  // namespace child
