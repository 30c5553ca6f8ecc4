// The console route as a pure function over the files embedded at build time: which file
// answers which path, with which headers, and that the page obeys its own policy (no
// inline script or style, nothing from another origin), which a browser would otherwise
// only report as console errors.
#include "dispatcher/admin/console.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "dispatcher/common/embedded_file.hpp"

namespace dispatcher::admin {
namespace {

request get(std::string path, std::string method = "GET") {
  request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

std::string header(const response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

std::string file(std::string_view name) {
  for (const auto& f : embedded::console_files())
    if (f.name == name) return std::string(f.bytes);
  return {};
}

TEST(console, ui_and_ui_slash_answer_the_page_with_a_strict_policy) {
  for (const auto* path : {"/ui", "/ui/"}) {
    auto r = console_response(get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r->body, file("index.html"));
    const auto csp = header(*r, "Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe"), std::string::npos);
    EXPECT_EQ(header(*r, "X-Content-Type-Options"), "nosniff");
  }
}

TEST(console, each_file_has_its_type_and_unknown_ones_are_404_with_the_same_headers) {
  EXPECT_EQ(console_response(get("/ui/app.js"))->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(console_response(get("/ui/app.css"))->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(console_response(get("/ui/icon.svg"))->content_type, "image/svg+xml");
  EXPECT_EQ(console_response(get("/ui/app.js"))->body, file("app.js"));
  for (const auto* path : {"/ui/nope.js", "/ui/../README.md", "/ui//app.js", "/ui/APP.JS"}) {
    auto r = console_response(get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(header(*r, "X-Content-Type-Options"), "nosniff") << path;
  }
}

TEST(console, other_paths_are_left_to_the_api_and_only_get_and_head_are_served) {
  EXPECT_FALSE(console_response(get("/uix")));
  EXPECT_FALSE(console_response(get("/v1/ui")));
  EXPECT_FALSE(console_response(get("/")));
  EXPECT_EQ(console_response(get("/ui", "HEAD"))->status, 200);
  auto post = console_response(get("/ui", "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(header(*post, "Allow"), "GET, HEAD");
}

TEST(console, the_page_obeys_its_own_policy) {
  const auto html = file("index.html");
  ASSERT_FALSE(html.empty());
  // Every script has a src on this origin; no inline one, no handler attribute, no style
  // attribute or element, no absolute URL.
  const std::regex script("<script([^>]*)>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
       it != std::sregex_iterator(); ++it) {
    EXPECT_NE((*it)[1].str().find("src=\"/ui/"), std::string::npos) << (*it)[0];
  }
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=|<style)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)="(https?:)?//)")));
  // The token is never written where it outlives the tab or travels with every request.
  const auto js = file("app.js");
  ASSERT_FALSE(js.empty());
  EXPECT_EQ(js.find("localStorage"), std::string::npos);
  EXPECT_EQ(js.find("document.cookie"), std::string::npos);
  EXPECT_EQ(js.find("innerHTML"), std::string::npos);
  EXPECT_FALSE(std::regex_search(js, std::regex(R"(https?://)")));
}

}  // namespace
}  // namespace dispatcher::admin
