// A small GoogleTest suite for volley's gtest harness tests: passing,
// failing, skipped, disabled, typed and value-parameterized tests, and a
// test that crashes when GTEST_FIXTURE_CRASH is set.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

TEST(Math, Adds) { EXPECT_EQ(2 + 2, 4); }

TEST(Math, Fails) { EXPECT_EQ(2 + 2, 5) << "arithmetic is broken"; }

TEST(Math, Skips) { GTEST_SKIP() << "not on this machine"; }

TEST(Math, DISABLED_Slow) { EXPECT_TRUE(true); }

TEST(Output, LooksLikeFraming) {
  std::printf("[  FAILED  ] Not.Real (0 ms)\n");
  std::fflush(stdout);
}

TEST(Crash, MaybeCrashes) {
  if (std::getenv("GTEST_FIXTURE_CRASH") != nullptr) {
    std::abort();
  }
}

TEST(Crash, After) { EXPECT_TRUE(true); }

template <typename T>
class Typed : public ::testing::Test {};
using MyTypes = ::testing::Types<int, long>;
TYPED_TEST_SUITE(Typed, MyTypes);
TYPED_TEST(Typed, Zero) { EXPECT_EQ(TypeParam(0), TypeParam()); }

class Param : public ::testing::TestWithParam<int> {};
TEST_P(Param, Positive) { EXPECT_GT(GetParam(), 0); }
INSTANTIATE_TEST_SUITE_P(Small, Param, ::testing::Values(1, 2));

class DISABLED_Off : public ::testing::Test {};
TEST_F(DISABLED_Off, Never) { FAIL(); }
