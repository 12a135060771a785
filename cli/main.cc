// kura: the researcher's command. Everything is in the kura_cli library (cli.h).
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return kura::cli::RunKura(std::vector<std::string>(argv + 1, argv + argc));
}
