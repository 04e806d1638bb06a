#include "config/dependency_rules.h"

#include <string>
#include <unordered_map>
#include <utility>

#include "config/units.h"

namespace climits::config {

namespace {

// "(the programs are a, b, c)", at most ten of them.
std::string known_programs(const Config& config) {
  constexpr std::size_t kShown = 10;
  std::string list;
  for (std::size_t i = 0; i < config.programs.size() && i < kShown; ++i)
    list += (i == 0 ? "" : ", ") + config.programs[i].name;
  if (config.programs.size() > kShown)
    list += " and " + std::to_string(config.programs.size() - kShown) + " more";
  return "(the programs are " + list + ")";
}

// Edges by index; -1 for a dependency already reported (unknown, or the program itself).
using Graph = std::vector<std::vector<int>>;

// Depth-first, without recursion (a chain may be thousands of programs long). An edge that
// reaches a program still on the path closes a cycle: reported at that edge, once.
void report_cycles(YamlReader& r, const Config& config, const Graph& graph,
                   const std::vector<KeySources>& sources) {
  enum Mark : char { unseen, on_path, done };
  std::vector<Mark> marks(graph.size(), unseen);
  struct Frame {
    int program;
    std::size_t next_edge;
  };
  for (std::size_t root = 0; root < graph.size(); ++root) {
    if (marks[root] != unseen) continue;
    std::vector<Frame> path{{static_cast<int>(root), 0}};
    marks[root] = on_path;
    while (!path.empty()) {
      Frame& frame = path.back();
      const auto& edges = graph[frame.program];
      if (frame.next_edge == edges.size()) {
        marks[frame.program] = done;
        path.pop_back();
        continue;
      }
      std::size_t edge = frame.next_edge++;
      int target = edges[edge];
      if (target < 0 || marks[target] == done) continue;
      if (marks[target] == unseen) {
        marks[target] = on_path;
        path.push_back({target, 0});
        continue;
      }
      std::string cycle;
      bool in_cycle = false;
      for (const auto& step : path) {
        in_cycle = in_cycle || step.program == target;
        if (in_cycle) cycle += config.programs[step.program].name + " -> ";
      }
      cycle += config.programs[target].name;
      r.error(sources[frame.program].dependencies[edge],
              "closes a dependency cycle: " + cycle + " (none of them could ever start)");
    }
  }
}

}  // namespace

void check_dependencies(YamlReader& r, const Config& config,
                        const std::vector<KeySources>& sources) {
  std::unordered_map<std::string, int> index;
  for (std::size_t i = 0; i < config.programs.size(); ++i)
    index.emplace(config.programs[i].name, static_cast<int>(i));
  Graph graph(config.programs.size());
  for (std::size_t i = 0; i < config.programs.size(); ++i) {
    const Program& program = config.programs[i];
    for (std::size_t j = 0; j < program.depends_on.size(); ++j) {
      const std::string& name = program.depends_on[j].name;
      const Located& where = sources[i].dependencies[j];
      auto found = index.find(name);
      if (name == program.name) {
        r.error(where, "a program cannot depend on itself");
        graph[i].push_back(-1);
      } else if (found == index.end()) {
        r.error(where, "unknown program " + quote(name) + " " + known_programs(config));
        graph[i].push_back(-1);
      } else {
        graph[i].push_back(found->second);
      }
    }
  }
  report_cycles(r, config, graph, sources);
}

}  // namespace climits::config
