// The mediastore command-line tool; commands live in cmd_*.cpp.
#include "cli.hpp"

int main(int argc, char** argv) { return mediastore::cli::run(argc, argv); }
