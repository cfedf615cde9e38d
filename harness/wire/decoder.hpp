#pragma once
// Incremental, sans-I/O decoder for a Gearman byte stream: binary packets and admin text lines
// share one port, told apart by the first byte (PROTOCOL "Administrative Protocol": NUL = binary).

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "harness/wire/error.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::wire {

/// Bounds that protect a decoder from hostile peers.
struct decoder_limits {
  /// Largest payload (the size field) accepted. 64 MiB by default.
  std::uint32_t max_payload = 64u << 20;
  /// Longest admin text line accepted, without its line ending.
  std::size_t max_line = 8192;
};

/// How a text line ended.
enum class line_ending : std::uint8_t { lf, crlf };

/// What one call to decode produced.
struct frame {
  enum class kind : std::uint8_t { binary, text };
  kind type = kind::binary;
  /// The packet (for binary frames). Also filled for unexpected_magic so callers can report it.
  packet_view packet;
  /// The type number from the header, also set when it is unknown.
  std::uint32_t type_number = 0;
  /// The line without its ending (for text frames).
  std::string_view line;
  /// The ending of a text line.
  line_ending ending = line_ending::lf;
  /// Every byte this frame occupied on the wire.
  std::string_view raw;
};

/// Progress of a decode call.
enum class decode_status : std::uint8_t {
  /// A whole frame was decoded into the output.
  complete,
  /// The input holds only part of a frame; call again with more bytes (nothing was consumed).
  need_more,
  /// The input is malformed; see error and is_recoverable().
  error,
};

/// Result of decoding one frame.
struct decode_result {
  /** Bytes the caller must drop from the front of its buffer, even when status is error. For a
      recoverable error this is the whole bad packet, so decoding can go on after it; for a fatal
      one it is 0 and the stream must be closed. */
  std::size_t consumed = 0;
  decode_status status = decode_status::need_more;
  std::error_code error;
};

/// Decodes frames from caller-owned bytes. Stateless between calls, so any split of the stream
/// into chunks gives the same frames (the caller keeps what was not consumed).
class decoder {
 public:
  /// expect: the magic this side should receive (a server expects requests).
  /// accept_text: whether lines that do not start with NUL are admin text (true on a server port).
  explicit decoder(packet_magic expect, decoder_limits limits = {},
                   bool accept_text = true) noexcept
      : expect_(expect), limits_(limits), accept_text_(accept_text) {}

  /// Decodes at most one frame from the front of input. Views in out point into input.
  decode_result decode(std::string_view input, frame& out) const noexcept;

  const decoder_limits& limits() const noexcept { return limits_; }

 private:
  decode_result decode_binary(std::string_view input, frame& out) const noexcept;
  decode_result decode_text(std::string_view input, frame& out) const noexcept;

  packet_magic expect_;
  decoder_limits limits_;
  bool accept_text_;
};

/// Splits a payload into the arguments of cmd's shape. Returns too_few_arguments when it has fewer
/// NUL separators than needed. Extra bytes on a zero-argument command are ignored (both real
/// servers ignore them: docs/protocol.md §1.4).
std::error_code split_arguments(command cmd, std::string_view payload, packet_view& out) noexcept;

/// A decoder that owns its buffer: feed it chunks, then pull frames. Frames returned by next()
/// stay valid until the next call to feed().
class stream_decoder {
 public:
  explicit stream_decoder(packet_magic expect, decoder_limits limits = {}, bool accept_text = true)
      : decoder_(expect, limits, accept_text) {}

  /// Appends received bytes.
  void feed(std::string_view bytes);
  /// Decodes the next frame from the buffered bytes.
  decode_result next(frame& out) noexcept;
  /// Bytes received but not yet decoded.
  std::size_t buffered() const noexcept { return buffer_.size() - start_; }
  /// Those bytes (valid until the next feed()), e.g. to show what could not be decoded.
  std::string_view pending() const noexcept {
    return std::string_view(buffer_).substr(start_);
  }

 private:
  decoder decoder_;
  std::string buffer_;
  std::size_t start_ = 0;
};

}  // namespace gearspec::wire
