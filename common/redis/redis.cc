#include "common/redis/redis.h"

#include <hiredis/hiredis.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace gennaker::redis {
namespace {

timeval ToTimeval(int ms) {
  return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)};
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

}  // namespace

absl::StatusOr<Options> ParseUrl(const std::string& url) {
  absl::string_view rest(url);
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError("redis URL must start with redis://");
  }
  Options o;
  if (auto at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view cred = rest.substr(0, at);
    auto colon = cred.find(':');
    o.password = std::string(
        colon == absl::string_view::npos ? cred : cred.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !absl::SimpleAtoi(db, &o.db)) {
      return absl::InvalidArgumentError("redis URL: database must be a number");
    }
    rest = rest.substr(0, slash);
  }
  if (auto colon = rest.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &o.port) || o.port <= 0 ||
        o.port > 65535) {
      return absl::InvalidArgumentError("redis URL: bad port");
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty())
    return absl::InvalidArgumentError("redis URL: missing host");
  o.host = std::string(rest);
  return o;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const Options& options) {
  std::unique_ptr<Client> client(new Client(options));
  GENNAKER_ASSIGN_OR_RETURN(redisContext * ctx, client->Open());
  absl::MutexLock lock(&client->mu_);
  client->idle_.push_back(ctx);
  client->open_ = 1;
  return client;
}

Client::~Client() {
  absl::MutexLock lock(&mu_);
  for (redisContext* c : idle_) redisFree(c);
}

absl::StatusOr<redisContext*> Client::Open() {
  timeval tv = ToTimeval(options_.timeout_ms);
  redisContext* ctx =
      redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
  auto where = absl::StrCat("redis ", options_.host, ":", options_.port);
  if (ctx == nullptr) return absl::UnavailableError(where + ": out of memory");
  if (ctx->err) {
    std::string msg = ctx->errstr;
    redisFree(ctx);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", where, ": ", msg));
  }
  redisSetTimeout(ctx, tv);
  auto run = [&](std::vector<std::string> argv) -> absl::Status {
    std::vector<const char*> a;
    std::vector<size_t> l;
    for (auto& s : argv) {
      a.push_back(s.data());
      l.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(a.size()), a.data(), l.data()));
    absl::Status st = absl::OkStatus();
    if (r == nullptr) {
      st = absl::UnavailableError(absl::StrCat(where, ": ", ctx->errstr));
    } else if (r->type == REDIS_REPLY_ERROR) {
      st = absl::FailedPreconditionError(absl::StrCat(where, ": ", r->str));
    }
    if (r) freeReplyObject(r);
    return st;
  };
  absl::Status st = absl::OkStatus();
  if (!options_.password.empty()) st = run({"AUTH", options_.password});
  if (st.ok() && options_.db != 0)
    st = run({"SELECT", std::to_string(options_.db)});
  if (!st.ok()) {
    redisFree(ctx);
    return st;
  }
  return ctx;
}

absl::StatusOr<redisContext*> Client::Take(bool* from_pool) {
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    mu_.Await(absl::Condition(&ready));
    if (!idle_.empty()) {
      redisContext* ctx = idle_.back();
      idle_.pop_back();
      *from_pool = true;
      return ctx;
    }
    ++open_;
  }
  *from_pool = false;
  auto ctx = Open();
  if (!ctx.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return ctx;
}

void Client::Give(redisContext* ctx) {
  absl::MutexLock lock(&mu_);
  if (ctx == nullptr || ctx->err) {
    if (ctx) redisFree(ctx);
    --open_;
  } else {
    idle_.push_back(ctx);
  }
}

absl::StatusOr<Reply> Client::Command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& s : argv) {
    args.push_back(s.data());
    lens.push_back(s.size());
  }
  for (int attempt = 0;; ++attempt) {
    bool from_pool = false;
    GENNAKER_ASSIGN_OR_RETURN(redisContext * ctx, Take(&from_pool));
    auto* r = static_cast<redisReply*>(redisCommandArgv(
        ctx, static_cast<int>(args.size()), args.data(), lens.data()));
    if (r == nullptr) {
      const int saved_errno = errno;
      std::string msg = ctx->errstr;
      // Resend only when the connection was found closed (the server
      // restarted); after a timeout the server may have run the command, so it
      // is not sent again.
      const bool timed_out =
          ctx->err == REDIS_ERR_IO &&
          (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
           saved_errno == ETIMEDOUT);
      bool stale = from_pool && !timed_out &&
                   (ctx->err == REDIS_ERR_EOF || ctx->err == REDIS_ERR_IO);
      Give(ctx);  // broken: closed and dropped
      if (stale && attempt == 0) continue;
      return absl::UnavailableError(
          absl::StrCat("redis ", options_.host, ":", options_.port, ": ", msg));
    }
    absl::StatusOr<Reply> out;
    if (r->type == REDIS_REPLY_ERROR) {
      out = absl::FailedPreconditionError(absl::StrCat("redis: ", r->str));
    } else {
      out = Convert(r);
    }
    freeReplyObject(r);
    Give(ctx);
    return out;
  }
}

}  // namespace gennaker::redis
