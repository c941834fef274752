// Reading `packer build -machine-readable` output. Each line is
// "timestamp,target,type,data..." with commas inside data written as
// "%!(PACKER_COMMA)" and newlines as a literal "\n". PackerOutput turns it
// into packer's human-readable text (the ui say/message/error lines, which is
// what rosco keeps as the bake's logs) and collects the artifact ids; then
// ExtractImage applies rosco's per-provider rules (reference 6.4) to find the
// produced image.
#ifndef GENNAKER_SERVICES_ROSCO_PACKER_OUTPUT_H_
#define GENNAKER_SERVICES_ROSCO_PACKER_OUTPUT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gennaker/rosco/v1/rosco.pb.h"

namespace gennaker::rosco {

// One machine-readable line split into its fields (data unescaped).
struct MachineLine {
  std::string timestamp;
  std::string target;
  std::string type;
  std::vector<std::string> data;
};
// False when `line` is not machine-readable (fewer than three fields or a
// non-numeric timestamp).
bool ParseMachineLine(absl::string_view line, MachineLine* out);

class PackerOutput {
 public:
  // Feeds one raw output line; returns the human-readable text it adds
  // (possibly several lines, possibly empty), each line ending in '\n'.
  std::string Feed(absl::string_view raw_line);
  // All human-readable text so far.
  const std::string& text() const { return text_; }
  // `artifact,N,id,<id>` values in order (AWS: "us-east-1:ami-1,...").
  const std::vector<std::string>& artifact_ids() const { return ids_; }

 private:
  std::string text_;
  std::vector<std::string> ids_;
};

// What a bake produced, per the provider's rules.
struct PackerImage {
  std::string image_id;    // AMI id, or "sha256:<hex>" for local
  std::string image_name;  // AMI name, docker repo:tag, local image name
  // (region, image id) pairs: AWS per-region AMIs.
  std::vector<std::pair<std::string, std::string>> regions;
};

// Applies the rules of reference 6.4 to the human-readable `text`:
//   local:  image_id = last word of a line containing "Image:",
//           image_name = last word of a line containing "ImageName:";
//   docker: image_name = last word of a line containing "Repository:";
//   aws:    image_name = last word of "amazon-(chroot|ebs): Creating the
//           AMI:" or the first word after "Creating unencrypted AMI";
//           image_id = last word of a line containing "<region>:";
//           per-region AMIs from the "<region>: ami-..." lines after
//           "==> Builds finished. The artifacts of successful builds are:"
//           and from `artifact_ids` ("region:ami,...").
// Other providers: image_name from "A disk image was created" or
// "Repository:", image_id from the first artifact id.
PackerImage ExtractImage(v1::CloudProviderType provider,
                         absl::string_view region, absl::string_view text,
                         const std::vector<std::string>& artifact_ids);

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_PACKER_OUTPUT_H_
