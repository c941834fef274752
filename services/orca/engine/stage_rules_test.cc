// The pure stage rules, on facts built by hand: no store, no engine.
#include "services/orca/engine/stage_rules.h"

#include "gtest/gtest.h"

namespace gennaker::orca {
namespace {

StageOutcome Outcome(std::vector<std::string> statuses) {
  StageOutcome o;
  o.statuses = std::move(statuses);
  return o;
}

TEST(RollUpStageStatusTest, NothingRanIsSkipped) {
  EXPECT_EQ(RollUpStageStatus(Outcome({})), status::kSkipped);
}

TEST(RollUpStageStatusTest, ManualSkipWinsOverEverything) {
  StageOutcome o = Outcome({status::kTerminal});
  o.manual_skip = true;
  EXPECT_EQ(RollUpStageStatus(o), status::kSkipped);
}

TEST(RollUpStageStatusTest, AllSucceededOrSkippedIsSucceeded) {
  EXPECT_EQ(RollUpStageStatus(Outcome({status::kSucceeded, status::kSkipped})),
            status::kSucceeded);
}

TEST(RollUpStageStatusTest, TerminalPartGivesTheFailureStatus) {
  StageOutcome o = Outcome({status::kSucceeded, status::kTerminal});
  EXPECT_EQ(RollUpStageStatus(o), status::kTerminal);
  o.failure_status = status::kFailedContinue;
  EXPECT_EQ(RollUpStageStatus(o), status::kFailedContinue);
  o.failure_status = status::kStopped;
  EXPECT_EQ(RollUpStageStatus(o), status::kStopped);
}

TEST(RollUpStageStatusTest, FailuresRankTerminalStoppedCanceledContinue) {
  EXPECT_EQ(RollUpStageStatus(Outcome({status::kFailedContinue,
                                       status::kCanceled, status::kStopped})),
            status::kStopped);
  EXPECT_EQ(
      RollUpStageStatus(Outcome({status::kFailedContinue, status::kCanceled})),
      status::kCanceled);
  EXPECT_EQ(
      RollUpStageStatus(Outcome({status::kSucceeded, status::kFailedContinue})),
      status::kFailedContinue);
}

TEST(RollUpStageStatusTest, PendingAfterStagesKeepTheStageRunning) {
  StageOutcome o = Outcome({status::kSucceeded});
  o.after_stages_pending = true;
  EXPECT_EQ(RollUpStageStatus(o), status::kRunning);
  // Only pending after-stages (no task at all): still running.
  StageOutcome only;
  only.after_stages_pending = true;
  EXPECT_EQ(RollUpStageStatus(only), status::kRunning);
  // A failure does not wait for them.
  o.statuses.push_back(status::kTerminal);
  EXPECT_EQ(RollUpStageStatus(o), status::kTerminal);
}

TEST(RollUpStageStatusTest, PlanningFailureCountsAsAFailedPart) {
  StageOutcome o;
  o.planning_failed = true;
  EXPECT_EQ(RollUpStageStatus(o), status::kTerminal);
  o.failure_status = status::kFailedContinue;
  EXPECT_EQ(RollUpStageStatus(o), status::kFailedContinue);
}

TEST(RollUpStageStatusTest, AnUnfinishedPartIsTerminal) {
  EXPECT_EQ(RollUpStageStatus(Outcome({status::kSucceeded, status::kRunning})),
            status::kTerminal);
}

TEST(TimeoutTest, TaskTimesOutAfterItsTimeoutExcludingPauses) {
  EXPECT_FALSE(TaskTimedOut(/*now=*/10000, /*start=*/0, /*paused=*/0,
                            /*timeout=*/0));
  EXPECT_FALSE(TaskTimedOut(10000, 0, 0, 10000));
  EXPECT_TRUE(TaskTimedOut(10001, 0, 0, 10000));
  EXPECT_FALSE(TaskTimedOut(10001, 0, 5000, 10000));
}

TEST(TimeoutTest, StageTimeoutExcludesPausesAndTheExecutionWindow) {
  EXPECT_FALSE(StageTimedOut(/*now=*/100, /*start=*/0, /*paused=*/0,
                             /*window=*/0, /*limit=*/0));
  EXPECT_TRUE(StageTimedOut(100, 0, 0, 0, 99));
  EXPECT_FALSE(StageTimedOut(100, 0, 10, 0, 99));
  EXPECT_FALSE(StageTimedOut(100, 0, 0, 10, 99));
  EXPECT_TRUE(StageTimedOut(200, 0, 50, 50, 99));
}

Json Stage(const std::string& ref, const std::string& st,
           std::vector<std::string> requisites) {
  return {{"id", "id-" + ref},
          {"refId", ref},
          {"status", st},
          {"requisiteStageRefIds", requisites}};
}

TEST(UpstreamHaltedTest, DirectAndTransitiveHalts) {
  Json exec = {
      {"stages", Json::array({Stage("1", status::kTerminal, {}),
                              Stage("2", status::kNotStarted, {"1"}),
                              Stage("3", status::kNotStarted, {"2"}),
                              Stage("4", status::kSucceeded, {}),
                              Stage("5", status::kNotStarted, {"4"})})}};
  EXPECT_FALSE(UpstreamHalted(exec, exec["stages"][0]));
  EXPECT_TRUE(UpstreamHalted(exec, exec["stages"][1]));
  EXPECT_TRUE(UpstreamHalted(exec, exec["stages"][2]));
  EXPECT_FALSE(UpstreamHalted(exec, exec["stages"][4]));
}

TEST(UpstreamHaltedTest, CanceledAndStoppedHaltButFailedContinueDoesNot) {
  for (const char* st : {status::kCanceled, status::kStopped}) {
    Json exec = {
        {"stages", Json::array({Stage("a", st, {}),
                                Stage("b", status::kNotStarted, {"a"})})}};
    EXPECT_TRUE(UpstreamHalted(exec, exec["stages"][1])) << st;
  }
  Json exec = {
      {"stages", Json::array({Stage("a", status::kFailedContinue, {}),
                              Stage("b", status::kNotStarted, {"a"})})}};
  EXPECT_FALSE(UpstreamHalted(exec, exec["stages"][1]));
}

TEST(UpstreamHaltedTest, RunningUpstreamStopsTheSearch) {
  Json exec = {
      {"stages", Json::array({Stage("1", status::kTerminal, {}),
                              Stage("2", status::kRunning, {"1"}),
                              Stage("3", status::kNotStarted, {"2"})})}};
  EXPECT_FALSE(UpstreamHalted(exec, exec["stages"][2]));
}

}  // namespace
}  // namespace gennaker::orca
