#pragma once
// The files the HTML report embeds, compiled in at build time (cmake/hit_embed.cmake generates
// the definitions from cli/html/ and Debian's libjs-dygraphs): the page needs nothing at run
// time, and hit nothing installed beside it.

#include <string_view>

namespace hit::cli::html_assets {

std::string_view dygraph_js();   // dygraphs 2.x, minified, with its MIT licence comment
std::string_view dygraph_css();  // dygraphs' own style sheet (legend, axis labels)
std::string_view page_html();    // cli/html/report.html: the page's template
std::string_view page_css();     // cli/html/report.css
std::string_view page_js();      // cli/html/report.js: draws the report from the model

}  // namespace hit::cli::html_assets
