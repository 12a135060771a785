// Forks N children that all sleep forever (keeping argv, so the test can find them by its
// marker), prints "ready" once they exist, and sleeps too. Used to check that nothing of a
// sandbox survives its launcher.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  int children = argc > 2 ? std::atoi(argv[2]) : 3;
  for (int i = 0; i < children; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    if (pid < 0) return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) pause();
}
