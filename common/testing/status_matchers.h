// gMock matchers for absl::Status and absl::StatusOr<T>, for tests only (our
// abseil ships none). Each works on both types; for a StatusOr the status is
// what is matched, and a failure explains itself with the actual status.
//
//   EXPECT_THAT(store.Delete(key), IsOk());
//   EXPECT_THAT(core.Get(key), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(core.Save(bad), StatusIs(absl::StatusCode::kInvalidArgument,
//                                        HasSubstr("name is required")));
//   EXPECT_THAT(core.Count(), IsOkAndHolds(3));
//   ASSERT_THAT(result, IsOk());  // before dereferencing `result`
//
// `code` may be an absl::StatusCode or a matcher of one; `message` a string
// (compared exactly) or a matcher of std::string. Link target:
// gennaker_testing_matchers (header-only).
#ifndef GENNAKER_COMMON_TESTING_STATUS_MATCHERS_H_
#define GENNAKER_COMMON_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gennaker::testing {
namespace internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// IsOk() for one argument type (Status or StatusOr<T>, maybe by reference).
template <typename T>
class IsOkMatcherImpl : public ::testing::MatcherInterface<T> {
 public:
  void DescribeTo(std::ostream* os) const override { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is not OK";
  }
  bool MatchAndExplain(
      T actual, ::testing::MatchResultListener* listener) const override {
    const absl::Status& status = GetStatus(actual);
    if (status.ok()) return true;
    *listener << "which has status " << status;
    return false;
  }
};

class IsOkMatcher {
 public:
  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT: implicit by design
    return ::testing::Matcher<T>(new IsOkMatcherImpl<const T&>());
  }
};

// The code and message checks of StatusIs(), shared by every argument type.
class StatusIsMatcherCommonImpl {
 public:
  StatusIsMatcherCommonImpl(::testing::Matcher<absl::StatusCode> code,
                            ::testing::Matcher<const std::string&> message)
      : code_(std::move(code)), message_(std::move(message)) {}

  void DescribeTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeTo(os);
    *os << ", and has an error message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeNegationTo(os);
    *os << ", or has an error message that ";
    message_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(const absl::Status& status,
                       ::testing::MatchResultListener* listener) const {
    ::testing::StringMatchResultListener inner;
    if (!code_.MatchAndExplain(status.code(), &inner)) {
      *listener << "whose status code is wrong (status: " << status << ")";
      PrintInner(inner, listener);
      return false;
    }
    if (!message_.Matches(std::string(status.message()))) {
      *listener << "whose error message is wrong (status: " << status << ")";
      return false;
    }
    return true;
  }

 private:
  static void PrintInner(const ::testing::StringMatchResultListener& inner,
                         ::testing::MatchResultListener* listener) {
    if (!inner.str().empty()) *listener << ", " << inner.str();
  }

  const ::testing::Matcher<absl::StatusCode> code_;
  const ::testing::Matcher<const std::string&> message_;
};

template <typename T>
class MonoStatusIsMatcherImpl : public ::testing::MatcherInterface<T> {
 public:
  explicit MonoStatusIsMatcherImpl(StatusIsMatcherCommonImpl common)
      : common_(std::move(common)) {}
  void DescribeTo(std::ostream* os) const override { common_.DescribeTo(os); }
  void DescribeNegationTo(std::ostream* os) const override {
    common_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(
      T actual, ::testing::MatchResultListener* listener) const override {
    return common_.MatchAndExplain(GetStatus(actual), listener);
  }

 private:
  StatusIsMatcherCommonImpl common_;
};

class StatusIsMatcher {
 public:
  template <typename CodeMatcher, typename MessageMatcher>
  StatusIsMatcher(CodeMatcher&& code, MessageMatcher&& message)
      : common_(::testing::MatcherCast<absl::StatusCode>(
                    std::forward<CodeMatcher>(code)),
                ::testing::MatcherCast<const std::string&>(
                    std::forward<MessageMatcher>(message))) {}

  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT: implicit by design
    return ::testing::Matcher<T>(
        new MonoStatusIsMatcherImpl<const T&>(common_));
  }

 private:
  StatusIsMatcherCommonImpl common_;
};

// IsOkAndHolds() for one StatusOr type.
template <typename StatusOrType>
class IsOkAndHoldsMatcherImpl
    : public ::testing::MatcherInterface<StatusOrType> {
 public:
  using ValueType = typename std::remove_cv_t<
      std::remove_reference_t<StatusOrType>>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsMatcherImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const ValueType&>(
            std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is not OK, or has a value that ";
    inner_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(
      StatusOrType actual,
      ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "which has status " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner;
    const bool matches = inner_.MatchAndExplain(*actual, &inner);
    *listener << "which holds " << ::testing::PrintToString(*actual);
    if (!inner.str().empty()) *listener << ", " << inner.str();
    return matches;
  }

 private:
  const ::testing::Matcher<const ValueType&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT: implicit
    return ::testing::Matcher<StatusOrType>(
        new IsOkAndHoldsMatcherImpl<const StatusOrType&>(inner_));
  }

 private:
  const InnerMatcher inner_;
};

}  // namespace internal_status

// Matches an OK absl::Status, or an absl::StatusOr<T> holding a value.
inline internal_status::IsOkMatcher IsOk() { return {}; }

// Matches a Status / StatusOr whose code matches `code` (any message).
template <typename CodeMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code) {
  return internal_status::StatusIsMatcher(std::forward<CodeMatcher>(code),
                                          ::testing::_);
}

// Matches a Status / StatusOr whose code matches `code` and whose message
// matches `message`.
template <typename CodeMatcher, typename MessageMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code,
                                          MessageMatcher&& message) {
  return internal_status::StatusIsMatcher(
      std::forward<CodeMatcher>(code), std::forward<MessageMatcher>(message));
}

// Matches an OK absl::StatusOr<T> whose value matches `value` (a matcher or a
// value compared with ==).
template <typename InnerMatcher>
internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& value) {
  return internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(value));
}

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_STATUS_MATCHERS_H_
