// Writes each Lua script as the service sends it to Redis, helper parts included, to
// DIR/<name>.lua for luacheck (tests/lint/CMakeLists.txt). C++ compiles the scripts as
// strings: without this, a Lua mistake (a misspelt local read as a nil global, a local
// shadowing the one a later line meant) shows only when Redis runs that line.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "dispatcher/redis/scripts.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dump_lua_scripts DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (const auto* script : dispatcher::redis::all_scripts()) {
    const auto path = dir / (std::string(script->name) + ".lua");
    std::ofstream out(path);
    out << script->source;
    if (!out.flush()) {
      std::cerr << "dump_lua_scripts: cannot write " << path << "\n";
      return 1;
    }
  }
  return 0;
}
