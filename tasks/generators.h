#pragma once
// The four task generators behind Task::make (internal to tasks/).
#include <memory>

#include "tasks/tasks.h"

namespace scalelab::tasks {

std::unique_ptr<Task> make_generator(const TaskConfig& c);  // c already validated

}  // namespace scalelab::tasks
