#pragma once
// The one place that includes Boost.Asio. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility> (chriskohlhoff/asio#944), so <utility> must come first.

#include <utility>

#include <boost/asio.hpp>

namespace gearspec::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace gearspec::net
