// The outbound policy (common/http/outbound.h) as an operator writes it in a
// service's config (gennaker.common.v1.OutboundConfig): fields left empty or
// at zero keep the policy's defaults, so an absent `outbound` block gives
// DefaultOutboundPolicy().
#ifndef GENNAKER_COMMON_HTTP_OUTBOUND_CONFIG_H_
#define GENNAKER_COMMON_HTTP_OUTBOUND_CONFIG_H_

#include "common/http/outbound.h"
#include "gennaker/common/v1/config.pb.h"

namespace gennaker::http {

OutboundPolicy OutboundPolicyFromConfig(const common::v1::OutboundConfig& c);

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_OUTBOUND_CONFIG_H_
