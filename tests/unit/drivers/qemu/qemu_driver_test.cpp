// Definitions the qemu driver accepts and refuses (no QEMU is started).

#include "drivers/qemu/qemu_driver.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "drivers/qemu/test_guest.hpp"
#include "util/error.hpp"

using namespace ferry;

namespace {

class qemu_definitions : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferry-qemu-unit-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    guest_ = dir_ + "/guest.bin";
    FILE* f = std::fopen(guest_.c_str(), "w");
    std::fputs((std::string(48, '\x90') + test_guest::signature).c_str(), f);
    std::fclose(f);
    other_ = dir_ + "/vmlinuz";
    f = std::fopen(other_.c_str(), "w");
    std::fputs("some other kernel", f);
    std::fclose(f);
    driver_context ctx;
    ctx.agent_name = "unit";
    ctx.state_dir = dir_ + "/state";
    ctx.on_event = [](driver_event) {};
    drv_ = std::make_unique<qemu_driver>(ctx, qemu_driver_config{});
    ASSERT_FALSE(drv_->open());
  }

  void TearDown() override {
    drv_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// The error text define() gives for `body` inside <domain type=TYPE>.
  std::string refusal(const std::string& body,
                      const std::string& type = "qemu") {
    auto res = drv_->define("<domain type='" + type + "'><name>q</name>"
                            + body + "</domain>");
    if (res)
      return "accepted";
    return error_text(res.error());
  }

  std::string dir_, guest_, other_;
  std::unique_ptr<qemu_driver> drv_;
};

} // namespace

TEST_F(qemu_definitions, accepts_a_bare_guest_and_the_test_guest) {
  EXPECT_EQ(refusal("<memory unit='MiB'>64</memory>"), "accepted");
  EXPECT_EQ(drv_->name(), "qemu");
  auto res = drv_->define("<domain type='qemu'><name>g</name><memory "
                          "unit='MiB'>256</memory><os><kernel>"
                          + guest_
                          + "</kernel></os><workload working-set='32'/>"
                            "</domain>");
  ASSERT_TRUE(res) << error_text(res.error());
  EXPECT_EQ(res->memory_bytes, 256u << 20);
  auto paced = drv_->define("<domain type='qemu'><name>paced</name><memory "
                            "unit='MiB'>64</memory><os><kernel>"
                            + guest_
                            + "</kernel></os><workload dirty-rate='12' "
                              "working-set='8'/></domain>");
  ASSERT_TRUE(paced) << error_text(paced.error());
  EXPECT_EQ(paced->name, "paced");
}

TEST_F(qemu_definitions, refuses_what_qemu_cannot_run) {
  auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  auto r = refusal("<memory unit='MiB'>64</memory>", "test");
  EXPECT_TRUE(has(r, "runs <domain type='qemu'> (TCG) or 'kvm', not 'test'"))
    << r;
  r = refusal("<memory unit='MiB'>64</memory><os><kernel>" + dir_
              + "/missing.bin</kernel></os>");
  EXPECT_TRUE(has(r, "missing.bin' does not exist")) << r;
  r = refusal("<memory unit='MiB'>64</memory><os><kernel>guest.bin</kernel>"
              "</os>");
  EXPECT_TRUE(has(r, "must be an absolute path")) << r;
  r = refusal("<memory unit='MiB'>64</memory><os><kernel>" + other_
              + "</kernel></os><workload working-set='8'/>");
  EXPECT_TRUE(has(r, "needs ferry's test guest")) << r;
  r = refusal("<memory unit='MiB'>64</memory><os><kernel>" + guest_
              + "</kernel></os><workload dirty-rate='10'/>");
  EXPECT_TRUE(has(r, "dirty-rate> paces ferry's test guest over its "
                     "working set")) << r;
  r = refusal("<memory unit='MiB'>8</memory>");
  EXPECT_TRUE(has(r, "at least 16 MiB")) << r;
  r = refusal("<memory unit='KiB'>65540</memory>");
  EXPECT_TRUE(has(r, "whole MiB")) << r;
}
