#include "html_report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "html_assets.hpp"

// What the page is made of, and that nothing in the model can end its script element or add
// markup. Whether the page draws is html_chromium_test's question (tests/integration).

namespace {

const std::string hostile = "</script><script>document.body.dataset.pwned=1</script><!--";

nlohmann::json model_with(const std::string& text) {
  return {{"title", "GET " + text},
          {"runs",
           {{{"label", text},
             {"config", {{"Header", text}}},
             {"status_codes", {{text, 1}}},
             {"thresholds", {{{"expression", text}, {"pass", true}, {"observed", text}}}}}}}};
}

std::string model_element(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"hit-model\">";
  const auto from = page.find(open);
  EXPECT_NE(from, std::string::npos);
  const auto start = from + open.size();
  return page.substr(start, page.find("</script>", start) - start);
}

}  // namespace

TEST(html_report, embeds_dygraphs_and_the_page_scripts) {
  const std::string page = hit::cli::html_report(model_with("x"));
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find(hit::cli::html_assets::dygraph_js()), std::string::npos);
  EXPECT_NE(page.find(hit::cli::html_assets::dygraph_css()), std::string::npos);
  EXPECT_NE(page.find(hit::cli::html_assets::page_js()), std::string::npos);
  EXPECT_NE(page.find(hit::cli::html_assets::page_css()), std::string::npos);
  EXPECT_NE(page.find("@license"), std::string::npos) << "dygraphs' licence comment is kept";
  for (const char* name : {"title", "model", "dygraph_js", "dygraph_css", "page_js", "page_css"})
    EXPECT_EQ(page.find(std::string("{{") + name + "}}"), std::string::npos) << name;
  // Nothing is fetched: no external script, style sheet or source map.
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("sourceMappingURL"), std::string::npos);
}

TEST(html_report, no_model_string_ends_the_script_element) {
  const std::string page = hit::cli::html_report(model_with(hostile));
  const std::string text = model_element(page);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_EQ(page.find("dataset.pwned=1</script>"), std::string::npos);
  // The escaped text still means the same strings.
  const auto back = nlohmann::json::parse(text);
  EXPECT_EQ(back, model_with(hostile));
  // Three script elements (the model, dygraphs, the page's script), three "</script>": the
  // hostile string added none.
  std::size_t closers = 0;
  for (auto at = page.find("</script>"); at != std::string::npos;
       at = page.find("</script>", at + 1))
    ++closers;
  EXPECT_EQ(closers, 3u);
}

TEST(html_report, title_is_text) {
  const std::string page = hit::cli::html_report(model_with("<b>&\"'"));
  EXPECT_NE(page.find("<title>GET &lt;b&gt;&amp;&quot;&#39; — hit report</title>"),
            std::string::npos);
}

TEST(html_report, invalid_utf8_is_replaced_not_thrown) {
  const std::string page = hit::cli::html_report(model_with("bad \xff byte"));
  EXPECT_NE(model_element(page).find("bad \xef\xbf\xbd byte"), std::string::npos);
}

TEST(html_report, a_model_without_runs_still_makes_a_page) {
  // The page's script says what is missing; the C++ side does not validate the model.
  EXPECT_NE(hit::cli::html_report(nlohmann::json::object()).find("<title>hit report</title>"),
            std::string::npos);
  EXPECT_NE(hit::cli::html_report(nlohmann::json::array()).find("</html>"), std::string::npos);
}
