#include "server/common/content_key.h"

#include <gtest/gtest.h>

namespace mt::server {
namespace {

TEST(ContentKeyTest, Sha256OfKnownVectors) {
  // FIPS 180-2 appendix B.1 and the empty message.
  EXPECT_EQ(Sha256Key("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Key(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ContentKeyTest, ResendsShareAKeyOtherContentDoesNot) {
  v1::Packet p;
  p.set_id("victim-1");
  p.set_height(8);
  p.set_width(8);
  p.add_tiles()->set_features("abc");
  v1::Packet resend = p;
  resend.set_attempt(2);
  resend.set_want_reconstruction(true);
  EXPECT_EQ(PacketContentKey(p), PacketContentKey(resend));
  v1::Packet other = p;
  other.mutable_tiles(0)->set_features("abd");
  EXPECT_NE(PacketContentKey(p), PacketContentKey(other));
  v1::Packet renamed = p;
  renamed.set_id("victim-2");
  EXPECT_NE(PacketContentKey(p), PacketContentKey(renamed));
}

}  // namespace
}  // namespace mt::server
