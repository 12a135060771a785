#include "gateway/policy.h"

#include <string>
#include <vector>

#include "gateway/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

UserRecord User(std::string name, std::vector<Role> roles) {
  UserRecord user;
  user.name = std::move(name);
  user.roles = std::move(roles);
  return user;
}

SchemaRecord Schema(std::string name, DataClass data_class) {
  SchemaRecord schema;
  schema.name = std::move(name);
  schema.data_class = data_class;
  schema.path = "/srv/" + schema.name;
  return schema;
}

GrantRecord Grant(std::string project, std::string schema, absl::Duration from, absl::Duration to) {
  GrantRecord grant;
  grant.project = std::move(project);
  grant.schema = std::move(schema);
  grant.valid_from = TestNow() + from;
  grant.valid_to = TestNow() + to;
  return grant;
}

TEST(PolicyTest, MembershipAndRoles) {
  UserRecord alice = User("alice", {Role::kResearcher});
  UserRecord root = User("root", {Role::kOperator});
  EXPECT_THAT(CheckProjectMember(alice, "cancer", {"alice", "bob"}), IsOk());
  EXPECT_THAT(CheckProjectMember(alice, "heart", {"bob"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("'alice' is not a member of project 'heart'")));
  EXPECT_THAT(CheckOperator(root, "grants add"), IsOk());
  EXPECT_THAT(CheckOperator(alice, "grants add"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("grants add needs the operator role; 'alice' has researcher")));
  EXPECT_THAT(CheckRole(root, Role::kReviewer, "review"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(PolicyTest, SchemaAccessCases) {
  const std::vector<SchemaRecord> schemas = {
      Schema("anon", DataClass::kAnonymized), Schema("pseudo", DataClass::kPseudonymized),
      Schema("old", DataClass::kAnonymized), Schema("later", DataClass::kAnonymized),
      Schema("theirs", DataClass::kAnonymized)};
  const std::vector<GrantRecord> grants = {
      Grant("cancer", "anon", -absl::Hours(1), absl::Hours(1)),
      Grant("cancer", "pseudo", -absl::Hours(1), absl::Hours(1)),
      Grant("cancer", "old", -absl::Hours(48), -absl::Hours(24)),
      Grant("cancer", "later", absl::Hours(24), absl::Hours(48)),
      Grant("heart", "theirs", -absl::Hours(1), absl::Hours(1)),
  };
  struct Case {
    const char* name;
    const char* schema;
    TerminalClass terminal;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"anonymized, standard", "anon", TerminalClass::kStandard, absl::StatusCode::kOk, ""},
      {"pseudonymized, dedicated", "pseudo", TerminalClass::kDedicated, absl::StatusCode::kOk, ""},
      {"pseudonymized, standard", "pseudo", TerminalClass::kStandard,
       absl::StatusCode::kPermissionDenied,
       "only from a dedicated terminal; this terminal is standard"},
      {"expired grant", "old", TerminalClass::kDedicated, absl::StatusCode::kPermissionDenied,
       "expired at 2026-03-31 09:00:00 UTC"},
      {"grant not yet valid", "later", TerminalClass::kDedicated,
       absl::StatusCode::kPermissionDenied, "only from 2026-04-02"},
      {"other project's schema", "theirs", TerminalClass::kDedicated,
       absl::StatusCode::kPermissionDenied, "has no grant for schema 'theirs'"},
      {"unregistered schema", "ghost", TerminalClass::kDedicated, absl::StatusCode::kNotFound,
       "no schema 'ghost'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(CheckSchemaAccess("cancer", c.schema, grants, schemas, c.terminal, TestNow()),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.name;
  }

  MountPlan standard =
      PlanWorkspaceMounts("cancer", grants, schemas, TerminalClass::kStandard, TestNow());
  ASSERT_EQ(standard.mounts.size(), 1u);
  EXPECT_EQ(standard.mounts[0].name, "anon");
  EXPECT_EQ(standard.withheld.size(), 3u);
  MountPlan dedicated =
      PlanWorkspaceMounts("cancer", grants, schemas, TerminalClass::kDedicated, TestNow());
  ASSERT_EQ(dedicated.mounts.size(), 2u);
  EXPECT_EQ(dedicated.mounts[1].name, "pseudo");

  // The grant's end is exclusive: at valid_to the schema is gone and the workspace closes.
  EXPECT_THAT(SchemasNoLongerGranted({"anon", "pseudo"}, grants, TestNow()), ElementsAre());
  EXPECT_THAT(SchemasNoLongerGranted({"anon", "old"}, grants, TestNow() + absl::Hours(1)),
              ElementsAre("anon", "old"));
}

NodeRecord Node(std::string id, int64_t millicpus, int64_t memory_gib,
                std::vector<Device> devices = {}) {
  NodeRecord node;
  node.id = std::move(id);
  node.capacity = {millicpus, memory_gib << 30, std::move(devices)};
  node.last_heartbeat = TestNow() - absl::Seconds(2);
  return node;
}

WorkspaceRecord On(std::string node, int64_t millicpus, int64_t memory_gib,
                   WorkspaceState state = WorkspaceState::kRunning,
                   std::vector<Device> devices = {}) {
  WorkspaceRecord w;
  w.node = std::move(node);
  w.state = state;
  w.resources = {millicpus, memory_gib << 30, std::move(devices)};
  return w;
}

TEST(SchedulerTest, PlacesDeterministicallyWhereThereIsRoom) {
  const Device h100_0{"gpu", "nvidia-h100", "0"};
  const Device h100_1{"gpu", "nvidia-h100", "1"};
  NodeRecord cordoned = Node("a-cordoned", 64000, 512);
  cordoned.cordoned = true;
  NodeRecord silent = Node("b-silent", 64000, 512);
  silent.last_heartbeat = TestNow() - absl::Minutes(2);
  NodeRecord never = Node("c-never", 64000, 512);
  never.last_heartbeat.reset();
  const std::vector<NodeRecord> nodes = {cordoned,
                                         silent,
                                         never,
                                         Node("d-small", 4000, 8),
                                         Node("e-big", 16000, 64),
                                         Node("f-gpu", 16000, 32, {h100_0, h100_1})};
  const std::vector<WorkspaceRecord> workspaces = {
      On("e-big", 8000, 40), On("e-big", 8000, 20, WorkspaceState::kClosed),
      On("f-gpu", 2000, 10, WorkspaceState::kRunning, {h100_0})};

  struct Case {
    const char* name;
    PlacementRequest request;
    const char* node;  // nullptr: refused
    const char* error;
  };
  const Case cases[] = {
      // e-big has 24 GiB free (a closed workspace holds nothing), f-gpu 22, d-small 8.
      {"most free memory", {1000, int64_t{1} << 30, {}}, "e-big", nullptr},
      {"only f-gpu has the CPUs", {10000, int64_t{1} << 30, {}}, "f-gpu", nullptr},
      {"23 GiB fits only e-big", {4000, int64_t{23} << 30, {}}, "e-big", nullptr},
      {"a gpu", {1000, int64_t{1} << 30, {{"gpu", "", 1}}}, "f-gpu", nullptr},
      {"two gpus, one taken",
       {1000, int64_t{1} << 30, {{"gpu", "nvidia-h100", 2}}},
       nullptr,
       "not enough free gpu nvidia-h100"},
      {"an npu", {1000, int64_t{1} << 30, {{"npu", "", 1}}}, nullptr, "not enough free npu"},
      {"too much memory", {1000, int64_t{100} << 30, {}}, nullptr, "d-small: 8192 MiB free"},
      {"too many cpus", {20000, int64_t{1} << 30, {}}, nullptr, "e-big: 8 CPUs free"},
      {"no cpu", {0, int64_t{1} << 30, {}}, nullptr, "needs some CPU"},
  };
  for (const Case& c : cases) {
    auto placement = PlaceWorkspace(nodes, workspaces, c.request, TestNow());
    if (c.node != nullptr) {
      ASSERT_THAT(placement, IsOk()) << c.name;
      EXPECT_EQ(placement->node, c.node) << c.name;
    } else {
      absl::StatusCode code = c.request.millicpus == 0 ? absl::StatusCode::kInvalidArgument
                                                       : absl::StatusCode::kResourceExhausted;
      EXPECT_THAT(placement, StatusIs(code, HasSubstr(c.error))) << c.name;
    }
  }
  auto refused = PlaceWorkspace(nodes, workspaces, {1000, int64_t{100} << 30, {}}, TestNow());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                ::testing::AllOf(HasSubstr("a-cordoned: cordoned"),
                                                 HasSubstr("b-silent: no heartbeat for 2m"),
                                                 HasSubstr("c-never: never sent a heartbeat"))));
  auto gpu =
      PlaceWorkspace(nodes, workspaces, {1000, int64_t{1} << 30, {{"gpu", "", 1}}}, TestNow());
  ASSERT_THAT(gpu, IsOk());
  EXPECT_THAT(gpu->resources.devices, ElementsAre(h100_1));
  EXPECT_THAT(PlaceWorkspace({}, {}, {1000, 1, {}}, TestNow()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no analysis node")));
}

TEST(SchedulerTest, TiesGoToTheSmallestId) {
  const std::vector<NodeRecord> nodes = {Node("n2", 4000, 8), Node("n1", 4000, 8),
                                         Node("n3", 4000, 8)};
  auto placement = PlaceWorkspace(nodes, {}, {1000, int64_t{1} << 30, {}}, TestNow());
  ASSERT_THAT(placement, IsOk());
  EXPECT_EQ(placement->node, "n1");
}

}  // namespace
}  // namespace kura::gateway
