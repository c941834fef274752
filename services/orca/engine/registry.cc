#include "services/orca/engine/registry.h"

namespace gennaker::orca {

void Registry::AddStage(const std::string& type,
                        std::shared_ptr<const StageDefinition> stage) {
  stages_[type] = std::move(stage);
}

void Registry::AddSimpleStage(const std::string& type,
                              std::vector<std::string> tasks) {
  AddStage(type, std::make_shared<SimpleStage>(std::move(tasks)));
}

void Registry::AddTask(const std::string& name, std::shared_ptr<Task> task) {
  tasks_[name] = std::move(task);
}

const StageDefinition* Registry::FindStage(const std::string& type) const {
  auto it = stages_.find(type);
  return it == stages_.end() ? nullptr : it->second.get();
}

Task* Registry::FindTask(const std::string& name) const {
  auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::StageTypes() const {
  std::vector<std::string> out;
  for (const auto& [type, def] : stages_) out.push_back(type);
  return out;
}

void Registry::AddExpressionFunction(const std::string& name,
                                     ExecutionFunction function) {
  functions_[name] = std::move(function);
}

}  // namespace gennaker::orca
