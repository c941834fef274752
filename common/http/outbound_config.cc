#include "common/http/outbound_config.h"

namespace gennaker::http {

OutboundPolicy OutboundPolicyFromConfig(const common::v1::OutboundConfig& c) {
  OutboundPolicy p = DefaultOutboundPolicy();
  if (c.allowed_schemes_size() > 0) {
    p.allowed_schemes.assign(c.allowed_schemes().begin(),
                             c.allowed_schemes().end());
  }
  p.allowed_hostnames_regex = c.allowed_hostnames_regex();
  p.allow_loopback = c.allow_loopback();
  p.allow_link_local = c.allow_link_local();
  p.rejected_cidrs.assign(c.rejected_cidrs().begin(), c.rejected_cidrs().end());
  // More ports to refuse, on top of the suite's default ones.
  p.rejected_ports.insert(p.rejected_ports.end(), c.rejected_ports().begin(),
                          c.rejected_ports().end());
  p.allowed_url_prefixes.assign(c.allowed_url_prefixes().begin(),
                                c.allowed_url_prefixes().end());
  if (c.max_response_bytes() > 0) p.max_response_bytes = c.max_response_bytes();
  if (c.timeout_ms() > 0) p.timeout_ms = c.timeout_ms();
  if (c.has_max_redirects()) p.max_redirects = c.max_redirects();
  return p;
}

}  // namespace gennaker::http
