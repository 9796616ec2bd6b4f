#include "common/table.h"

#include <doctest/doctest.h>

using namespace scalelab;

TEST_CASE("Table aligns columns and right-aligns numeric ones") {
  Table t({"id", ">N"});
  t.add({"abc", "1"});
  t.add({"d", "1234"});
  CHECK(t.render() == "id      N\n---  ----\nabc     1\nd    1234\n");
}

TEST_CASE("si and duration formatting") {
  CHECK(si(842496) == "842k");
  CHECK(si(1.5e6) == "1.50M");
  CHECK(si(12) == "12");
  CHECK(si(4.5e21) == "4.50e+21");
  CHECK(duration(12.34) == "12.3s");
  CHECK(duration(185) == "3m05s");
  CHECK(duration(3720) == "1h02m");
}

TEST_CASE("control characters are escaped in tables, and names are quoted for the shell") {
  CHECK(printable("a\nb\x1b[31m") == "a\\x0ab\\x1b[31m");
  CHECK(printable("Genèse") == "Genèse");  // UTF-8 is kept
  CHECK(first_control("ok") == -1);
  CHECK(first_control(std::string("a\0b", 3)) == 0);
  Table t({"name"});
  t.add({"x\ny"});
  CHECK(t.render().find("x\\x0ay") != std::string::npos);
  CHECK(shell_word("quickstart") == "quickstart");
  CHECK(shell_word("my sweep") == "'my sweep'");
  CHECK(shell_word("it's") == "'it'\\''s'");
  CHECK(shell_word("") == "''");
}
