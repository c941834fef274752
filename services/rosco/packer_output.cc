#include "services/rosco/packer_output.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gennaker::rosco {
namespace {

std::string Unescape(absl::string_view s) {
  return absl::StrReplaceAll(
      s, {{"%!(PACKER_COMMA)", ","}, {"\\n", "\n"}, {"\\r", ""}});
}

std::string LastWord(absl::string_view line) {
  line = absl::StripTrailingAsciiWhitespace(line);
  const size_t sp = line.find_last_of(" \t");
  return std::string(sp == absl::string_view::npos ? line
                                                   : line.substr(sp + 1));
}

std::string FirstWordAfter(absl::string_view line, absl::string_view marker) {
  const size_t at = line.find(marker);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest =
      absl::StripLeadingAsciiWhitespace(line.substr(at + marker.size()));
  absl::ConsumePrefix(&rest, ":");
  rest = absl::StripLeadingAsciiWhitespace(rest);
  return std::string(rest.substr(0, rest.find_first_of(" \t")));
}

bool IsRegionLine(absl::string_view line, std::string* region,
                  std::string* ami) {
  line = absl::StripAsciiWhitespace(line);
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view r = line.substr(0, colon);
  for (char c : r) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  absl::string_view id = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (!absl::StartsWith(id, "ami-") ||
      id.find(' ') != absl::string_view::npos) {
    return false;
  }
  *region = std::string(r);
  *ami = std::string(id);
  return true;
}

}  // namespace

bool ParseMachineLine(absl::string_view line, MachineLine* out) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
  if (fields.size() < 3 || fields[0].empty()) return false;
  for (char c : fields[0]) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  out->timestamp = std::string(fields[0]);
  out->target = std::string(fields[1]);
  out->type = std::string(fields[2]);
  out->data.clear();
  for (size_t i = 3; i < fields.size(); ++i) {
    out->data.push_back(Unescape(fields[i]));
  }
  return true;
}

std::string PackerOutput::Feed(absl::string_view raw_line) {
  raw_line = absl::StripSuffix(raw_line, "\r");
  MachineLine m;
  std::string added;
  if (!ParseMachineLine(raw_line, &m)) {
    // Not machine-readable (packer's own panic text, a wrapper's message):
    // kept as is.
    added = std::string(raw_line);
  } else if (m.type == "ui" && m.data.size() >= 2) {
    // Packer's "\n==> ..." separators start with a blank line.
    added = std::string(absl::StripPrefix(m.data[1], "\n"));
  } else if (m.type == "artifact" && m.data.size() >= 3 && m.data[1] == "id") {
    ids_.push_back(m.data[2]);
    return "";
  } else {
    return "";
  }
  if (added.empty() || added.back() != '\n') added.push_back('\n');
  text_ += added;
  return added;
}

PackerImage ExtractImage(v1::CloudProviderType provider,
                         absl::string_view region, absl::string_view text,
                         const std::vector<std::string>& artifact_ids) {
  PackerImage out;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  switch (provider) {
    case v1::CLOUD_PROVIDER_TYPE_LOCAL:
      for (absl::string_view line : lines) {
        if (absl::StrContains(line, "ImageName:")) {
          out.image_name = LastWord(line);
        } else if (absl::StrContains(line, "Image:")) {
          out.image_id = LastWord(line);
        }
      }
      break;
    case v1::CLOUD_PROVIDER_TYPE_AWS: {
      const std::string region_marker = std::string(region) + ":";
      bool finished = false;
      std::set<std::string> seen;
      for (absl::string_view line : lines) {
        if (absl::StrContains(line, "amazon-ebs: Creating the AMI:") ||
            absl::StrContains(line, "amazon-chroot: Creating the AMI:")) {
          out.image_name = LastWord(line);
        } else if (absl::StrContains(line, "Creating unencrypted AMI")) {
          out.image_name = FirstWordAfter(line, "Creating unencrypted AMI");
        }
        if (!region.empty() && absl::StrContains(line, region_marker)) {
          out.image_id = LastWord(line);
        }
        if (absl::StrContains(
                line,
                "==> Builds finished. The artifacts of successful builds "
                "are:")) {
          finished = true;
          continue;
        }
        std::string r, ami;
        if (finished && IsRegionLine(line, &r, &ami) && seen.insert(r).second) {
          out.regions.emplace_back(r, ami);
        }
      }
      for (const std::string& id : artifact_ids) {
        for (absl::string_view pair : absl::StrSplit(id, ',')) {
          std::string r, ami;
          if (IsRegionLine(pair, &r, &ami) && seen.insert(r).second) {
            out.regions.emplace_back(r, ami);
          }
        }
      }
      if (out.image_id.empty()) {
        for (const auto& [r, ami] : out.regions) {
          if (r == region) out.image_id = ami;
        }
      }
      break;
    }
    case v1::CLOUD_PROVIDER_TYPE_DOCKER:
      for (absl::string_view line : lines) {
        if (absl::StrContains(line, "Repository:")) {
          out.image_name = LastWord(line);
        }
      }
      break;
    default:
      for (absl::string_view line : lines) {
        if (absl::StrContains(line, "A disk image was created") ||
            absl::StrContains(line, "Repository:")) {
          out.image_name = LastWord(line);
        }
      }
      if (!artifact_ids.empty()) out.image_id = artifact_ids.front();
      break;
  }
  return out;
}

}  // namespace gennaker::rosco
