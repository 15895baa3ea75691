// TempDir: a private (0700) directory under its parent, removed with its contents on destruction.
#include "common/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace parbench {
namespace {

namespace fs = std::filesystem;

// The parent of every TempDir here, itself removed at the end of each test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "parbench-temp-dir-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    parent_ = templ;
  }
  void TearDown() override { fs::remove_all(parent_); }
  std::string parent_;
};

TEST_F(TempDirTest, CreatesAPrivateDirectoryUnderTheParent) {
  const TempDir dir(parent_);
  EXPECT_EQ(fs::path(dir.path()).parent_path(), fs::path(parent_));
  EXPECT_EQ(fs::path(dir.path()).filename().string().rfind("parbench-", 0), 0U) << dir.path();
  struct stat st {};
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700U) << "only its owner may enter it";
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST_F(TempDirTest, UsesThePrefixAndNeverTheSameNameTwice) {
  const TempDir a(parent_, "mine-");
  const TempDir b(parent_, "mine-");
  EXPECT_EQ(fs::path(a.path()).filename().string().rfind("mine-", 0), 0U) << a.path();
  EXPECT_NE(a.path(), b.path());
  EXPECT_TRUE(fs::is_directory(a.path()));
  EXPECT_TRUE(fs::is_directory(b.path()));
}

TEST_F(TempDirTest, RemovesItselfAndEverythingInItOnDestruction) {
  std::string path;
  {
    const TempDir dir(parent_);
    path = dir.path();
    fs::create_directories(fs::path(path) / "a" / "b");
    std::ofstream(fs::path(path) / "a" / "b" / "file.txt") << "data";
    std::ofstream(fs::path(path) / "top.txt") << "data";
    fs::create_symlink(parent_, fs::path(path) / "link-out");  // followed, it would reach parent_
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_directory(parent_)) << "a symlink inside is removed, not followed";
  EXPECT_TRUE(fs::is_empty(parent_));
}

TEST_F(TempDirTest, ADirectoryAlreadyGoneIsNoError) {
  std::string path;
  {
    const TempDir dir(parent_);
    path = dir.path();
    fs::remove_all(path);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(TempDirTest, AParentThatDoesNotExistThrowsNamingIt) {
  const std::string missing = parent_ + "/no-such-dir";
  try {
    const TempDir dir(missing);
    FAIL() << "made " << dir.path();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_empty(parent_));
}

}  // namespace
}  // namespace parbench
