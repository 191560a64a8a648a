// persephonee: personalise a pretrained CNN on the device with early exits.
#include "tools/commands.h"

int main(int argc, char** argv) { return persephonee::cli::RunCli(argc, argv); }
