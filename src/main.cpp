#include "memstrain/cli/cli.hpp"

int main(int argc, char** argv) { return memstrain::cliMain(argc, argv); }
