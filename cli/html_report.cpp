#include "html_report.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "html_assets.hpp"

namespace hit::cli {
namespace {

// The model as the text of a <script type="application/json"> element. Its text ends at the
// first "</script" and "<!--" changes how the parser reads it, so no '<' may appear raw: JSON
// allows '<' only inside strings, where "\u003c" means the same to JSON.parse. '>' and '&' are
// escaped too, so the text is inert in any HTML context.
std::string script_json(const nlohmann::json& model) {
  const std::string dumped = model.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size() + dumped.size() / 16);
  for (const char c : dumped) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The <title>, there before any script runs (tabs, history, a page whose script is blocked).
std::string page_title(const nlohmann::json& model) {
  std::string title = "hit report";
  if (model.is_object() && model.contains("title") && model["title"].is_string())
    title = model["title"].get<std::string>() + " — hit report";
  // Through dump's replacement, so invalid UTF-8 in the title becomes U+FFFD here as well.
  const auto quoted =
      nlohmann::json(title).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return html_text(nlohmann::json::parse(quoted).get<std::string>());
}

}  // namespace

std::string html_report(const nlohmann::json& model) {
  // {{name}} placeholders in the template, filled in one pass over the template only: text put
  // in (the model, the scripts) is never scanned again, so it cannot inject a placeholder.
  const std::string_view tpl = html_assets::page_html();
  const std::string model_text = script_json(model);
  std::string out;
  out.reserve(tpl.size() + html_assets::dygraph_js().size() + html_assets::page_js().size() +
              model_text.size() + 4096);
  std::size_t at = 0;
  while (true) {
    const auto open = tpl.find("{{", at);
    if (open == std::string_view::npos) break;
    const auto close = tpl.find("}}", open);
    if (close == std::string_view::npos) throw std::logic_error("report.html: unclosed {{");
    out += tpl.substr(at, open - at);
    const auto name = tpl.substr(open + 2, close - open - 2);
    if (name == "title") {
      out += page_title(model);
    } else if (name == "model") {
      out += model_text;
    } else if (name == "dygraph_js") {
      out += html_assets::dygraph_js();
    } else if (name == "dygraph_css") {
      out += html_assets::dygraph_css();
    } else if (name == "page_js") {
      out += html_assets::page_js();
    } else if (name == "page_css") {
      out += html_assets::page_css();
    } else {
      throw std::logic_error("report.html: unknown placeholder {{" + std::string(name) + "}}");
    }
    at = close + 2;
  }
  out += tpl.substr(at);
  return out;
}

}  // namespace hit::cli
