// Runs inside a sandbox and reports what it can see, one "key=value" line each, for
// posture_test.cc. With "--hold" it then waits for its stdin to close, so that the test can
// inspect the running sandbox from the host.
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Flatten(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ';';
  }
  std::string squeezed;
  for (char c : text) {
    if (c == ' ' && !squeezed.empty() && (squeezed.back() == ' ' || squeezed.back() == ';'))
      continue;
    if (c == ';' && !squeezed.empty() && squeezed.back() == ' ') squeezed.pop_back();
    squeezed += c;
  }
  while (!squeezed.empty() && squeezed[0] == ' ') squeezed.erase(0, 1);
  return squeezed;
}

void PrintStatusFields() {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::set<std::string> wanted = {"Uid",    "Gid",    "Groups", "CapInh",     "CapPrm",
                                        "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    if (!wanted.count(key)) continue;
    std::string value = line.substr(colon + 1);
    std::istringstream words(value);
    std::string word, joined;
    while (words >> word) joined += (joined.empty() ? "" : " ") + word;
    std::cout << "status." << key << "=" << joined << "\n";
  }
}

void PrintNamespaces() {
  for (const char* ns : {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}) {
    char link[256] = {};
    std::string path = std::string("/proc/self/ns/") + ns;
    ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
    std::cout << "ns." << ns << "=" << (n > 0 ? link : "?") << "\n";
  }
}

// mountinfo: mount point, then the per-mount options, then the file system type.
void PrintMounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point, options, field;
    fields >> id >> parent >> devno >> root >> point >> options;
    while (fields >> field && field != "-") {
    }
    std::string fstype;
    fields >> fstype;
    std::cout << "mount=" << point << " " << fstype << " " << options << "\n";
  }
}

void PrintPids() {
  std::vector<int> pids;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* entry = readdir(dir)) {
      int pid = atoi(entry->d_name);
      if (pid > 0) pids.push_back(pid);
    }
    closedir(dir);
  }
  std::sort(pids.begin(), pids.end());
  std::cout << "pids=";
  for (size_t i = 0; i < pids.size(); ++i) std::cout << (i ? "," : "") << pids[i];
  std::cout << "\nself_pid=" << getpid() << "\n";
}

void PrintInterfaces() {
  std::set<std::string> names;
  std::set<std::string> up;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      names.insert(a->ifa_name);
      if (a->ifa_flags & IFF_UP) up.insert(a->ifa_name);
    }
    freeifaddrs(list);
  }
  // getifaddrs only lists interfaces with addresses; /proc/net/dev lists all of them.
  std::ifstream dev("/proc/net/dev");
  std::string line;
  while (std::getline(dev, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    names.insert(name);
  }
  // SIOCGIFFLAGS works on any socket; AF_UNIX is the one family the seccomp profile allows.
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (const std::string& name : names) {
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags & IFF_UP)) {
      up.insert(name);
    }
  }
  if (sock >= 0) close(sock);
  std::cout << "interfaces=";
  bool first = true;
  for (const std::string& name : names) {
    std::cout << (first ? "" : ",") << name << (up.count(name) ? ":up" : ":down");
    first = false;
  }
  std::cout << "\n";
}

void PrintLimits() {
  const std::pair<const char*, int> limits[] = {
      {"nofile", RLIMIT_NOFILE}, {"core", RLIMIT_CORE}, {"fsize", RLIMIT_FSIZE}};
  for (const auto& [name, resource] : limits) {
    rlimit limit{};
    getrlimit(resource, &limit);
    auto show = [](rlim_t v) {
      return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
    };
    std::cout << "rlimit." << name << "=" << show(limit.rlim_cur) << "/" << show(limit.rlim_max)
              << "\n";
  }
}

void PrintFds() {
  std::vector<std::string> fds;
  if (DIR* dir = opendir("/proc/self/fd")) {
    int self = dirfd(dir);
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.' || atoi(entry->d_name) == self) continue;
      fds.push_back(entry->d_name);
    }
    closedir(dir);
  }
  std::sort(fds.begin(), fds.end());
  std::cout << "fds=";
  for (size_t i = 0; i < fds.size(); ++i) std::cout << (i ? "," : "") << fds[i];
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::cout << "uid_map=" << Flatten(ReadAll("/proc/self/uid_map")) << "\n";
  std::cout << "gid_map=" << Flatten(ReadAll("/proc/self/gid_map")) << "\n";
  std::cout << "setgroups=" << Flatten(ReadAll("/proc/self/setgroups")) << "\n";
  PrintStatusFields();
  PrintNamespaces();
  PrintMounts();
  PrintPids();
  PrintInterfaces();
  PrintLimits();
  PrintFds();
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  std::cout << "hostname=" << hostname << "\n";
  std::cout << "cgroup=" << Flatten(ReadAll("/proc/self/cgroup")) << "\n";
  extern char** environ;
  std::cout << "env_count=" << [] {
    int n = 0;
    for (char** e = environ; *e != nullptr; ++e) ++n;
    return n;
  }() << "\n";
  std::cout << "securebits=" << prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) << "\n";
  std::cout << "init_dumpable=" << (access("/proc/1/environ", R_OK) == 0 ? "readable" : "refused")
            << "\n";
  std::cout << "end\n" << std::flush;
  if (argc > 1 && std::strcmp(argv[1], "--hold") == 0) {
    char c;
    while (read(0, &c, 1) > 0) {
    }
  }
  return 0;
}
