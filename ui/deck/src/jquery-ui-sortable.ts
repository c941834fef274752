// jQuery UI's sortable widget, which angular-ui-sortable (Deck's drag-to-reorder lists, e.g.
// application links and data sources in an application's config) calls as $.fn.sortable.
// jQuery UI 1.12 registers itself on the global jQuery (it has no CommonJS entry), so these
// load after ./jquery-global, each after the parts it builds on.
import 'jquery-ui/ui/version';
import 'jquery-ui/ui/data';
import 'jquery-ui/ui/ie';
import 'jquery-ui/ui/scroll-parent';
import 'jquery-ui/ui/widget';
import 'jquery-ui/ui/widgets/mouse';
import 'jquery-ui/ui/widgets/sortable';
