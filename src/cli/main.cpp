// s3rec command-line entry point (subcommands are added in src/cli/).
#include <cstdio>

int main() {
  std::puts("s3rec");
  return 0;
}
