// Resolution of MPT v2 templated pipeline configs into plain pipeline configs,
// as orca's V2 template handlers do, for plans and for runs alike:
//
//   1. template.reference (rendered against {trigger, application} when it
//      holds ${...}) names the template: spinnaker://id[:tag]; it is loaded
//      through `load` ("latest" falls back to the untagged version). A
//      template whose pipeline is itself a templated config is resolved
//      first (a chain); a chain that comes back on itself is refused.
//   2. Variables: config values for names the template does not declare are
//      dropped; missing ones take the template default (rendered when it is
//      an expression); still missing and not nullable -> "Missing variable
//      values for: a, b"; null for a non-nullable one, or a value of the
//      wrong type (int accepts whole doubles) -> "Incorrectly defined
//      variable(s): ...".
//   3. Stages: a config stage with a template stage's refId replaces it;
//      other config stages are added; the graph must have no cycle ("Cycle
//      detected in graph (discovered on stage: X)"); inject rules (first,
//      last, before, after) of the template's stages, then of the config's,
//      are applied. A protected template refuses config stages.
//   4. The output is the template's pipeline with the config's application,
//      name, id, description; triggers, parameterConfig (from the config's
//      `parameters`) and notifications are the template's (marked
//      inherited:true) plus the config's, unless excluded; templateVariables;
//      source {type:"templatedPipeline", version:"v2"}. Every string naming
//      templateVariables is rendered; one naming a variable that does not
//      exist -> "Missing template variable values for the following
//      variables: [x]".
//   5. The trigger's parameters get the config's parameterConfig defaults
//      (as orca's starters do from the stored config), and values holding
//      ${...} are rendered against {trigger}.
// Every refusal is INVALID_ARGUMENT (a 400 at gate); a template that cannot
// be loaded for another reason keeps its code (UNAVAILABLE is retried).
#ifndef GENNAKER_SERVICES_ORCA_TEMPLATES_V2_TEMPLATE_H_
#define GENNAKER_SERVICES_ORCA_TEMPLATES_V2_TEMPLATE_H_

#include "absl/status/statusor.h"
#include "services/orca/front50_client.h"
#include "services/orca/templates/v2_schema.h"

namespace gennaker::orca::templates {

// Loads templates from front50 (Front50::PipelineTemplate).
TemplateLoader Front50Loader(Front50* front50);

struct Resolved {
  Json pipeline;  // a plain pipeline config
  Json trigger;   // the trigger with its parameters filled in
};

absl::StatusOr<Resolved> ResolveTemplatedPipeline(const Json& config,
                                                  Json trigger,
                                                  const TemplateLoader& load);

// Only the variables step (2), for tests and callers that check values.
absl::StatusOr<Json> ResolveVariables(const Json& template_variables,
                                      const Json& config_variables,
                                      const Json& render_root);

// Only the stages step (3).
absl::StatusOr<Json> MergeStages(const Json& template_stages,
                                 const Json& config_stages);

}  // namespace gennaker::orca::templates

#endif  // GENNAKER_SERVICES_ORCA_TEMPLATES_V2_TEMPLATE_H_
