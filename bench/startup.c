/* The start-up floor of a one-shot client (issue: benchmarks): an empty
 * main linked against exactly the libraries the byoca CLI links, with the
 * same link options (CMakeLists.txt keeps every library, as byoca's link
 * does), so its CPU time is what loading and binding them costs before
 * any work. bench/harness.py runs it many times and reports byoca's
 * client CPU per certificate as a multiple of it. */
int main(void) {
  return 0;
}
