// Uses an installed gearspec: encodes and decodes a packet with gearspec::wire, then runs a YAML
// scenario with gearspec::engine against the embedded reference server (gearspec::targets).
#include <cstdio>
#include <string>

#include "harness/engine/runner.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/make_target.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"

int main() {
  using namespace gearspec;
  const wire::packet echo{wire::packet_magic::request, wire::command::echo_req, {"from outside"}};
  std::string bytes;
  wire::encode(echo, bytes);
  wire::frame f;
  const auto decoded = wire::decoder(wire::packet_magic::request).decode(bytes, f);
  if (decoded.status != wire::decode_status::complete || wire::packet::from(f.packet) != echo) {
    std::puts("codec: the packet did not survive a round trip");
    return 1;
  }
  const auto s = scenario::load_scenario_string(R"(id: consumer/echo
title: ECHO from an installed gearspec
requirements: [ECHO-IDENTICAL]
level: MUST
description: the engine, linked from an installed tree
actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["${run}"]}
  - c: {expect: ECHO_RES, args: ["${run}"]}
)",
                                                "consumer.yaml");
  auto target = targets::make_target({});
  auto servers = target->start(s.servers);
  const auto result = engine::run_scenario(s, *servers);
  std::printf("consumer: codec ok, scenario %s against %s\n",
              result.result == engine::outcome::pass ? "passed" : "FAILED",
              target->describe().c_str());
  return result.result == engine::outcome::pass ? 0 : 1;
}
