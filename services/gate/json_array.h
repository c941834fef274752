// gate's lists of backend JSON texts: joined into one JSON array as they are,
// without parsing and re-serializing each element.
#ifndef GENNAKER_SERVICES_GATE_JSON_ARRAY_H_
#define GENNAKER_SERVICES_GATE_JSON_ARRAY_H_

#include <string>

namespace gennaker::gate {

// "[t1,t2,...]" where t is `text_of(item)` for each of `items`, in order; an
// empty text stands for {} (a backend that rendered nothing).
template <typename Items, typename TextOf>
std::string JoinArray(const Items& items, TextOf text_of) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    const auto& text = text_of(item);
    if (text.empty()) {
      out += "{}";
    } else {
      out += text;
    }
  }
  out += ']';
  return out;
}

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_JSON_ARRAY_H_
