#include "messages/types.hpp"

#include <caf/actor_system_config.hpp>

#include "messages/all.hpp"

namespace ferry {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_error_category(caf::atom("ferry"),
                         [](uint8_t code, caf::atom_value,
                            const caf::message& ctx) -> std::string {
                           return std::string{to_string(
                                    static_cast<errc>(code))}
                                  + ": " + to_string(ctx);
                         });
  cfg.add_message_type<domain_info>("ferry.domain_info");
  cfg.add_message_type<std::vector<domain_info>>("ferry.domain_info_list");
  cfg.add_message_type<driver_info>("ferry.driver_info");
  cfg.add_message_type<node_info>("ferry.node_info");
  cfg.add_message_type<domain_digest>("ferry.domain_digest");
  cfg.add_message_type<list_domains>("ferry.list_domains");
  cfg.add_message_type<define_domain>("ferry.define_domain");
  cfg.add_message_type<domain_op>("ferry.domain_op");
  cfg.add_message_type<get_domain_info>("ferry.get_domain_info");
  cfg.add_message_type<get_domain_xml>("ferry.get_domain_xml");
  cfg.add_message_type<get_domain_digest>("ferry.get_domain_digest");
  cfg.add_message_type<get_node_info>("ferry.get_node_info");
  cfg.add_message_type<get_driver_info>("ferry.get_driver_info");
  cfg.add_message_type<hello>("ferry.hello");
  cfg.add_message_type<challenge>("ferry.challenge");
  cfg.add_message_type<proof>("ferry.proof");
  cfg.add_message_type<welcome>("ferry.welcome");
  cfg.add_message_type<std::vector<role>>("ferry.role_list");
  cfg.add_message_type<migration_flags>("ferry.migration_flags");
  cfg.add_message_type<job_stats>("ferry.job_stats");
  cfg.add_message_type<migrate_request>("ferry.migrate_request");
  cfg.add_message_type<migration_result>("ferry.migration_result");
  cfg.add_message_type<mig_begin>("ferry.mig_begin");
  cfg.add_message_type<begin_cookie>("ferry.begin_cookie");
  cfg.add_message_type<mig_prepare>("ferry.mig_prepare");
  cfg.add_message_type<prepare_cookie>("ferry.prepare_cookie");
  cfg.add_message_type<mig_perform>("ferry.mig_perform");
  cfg.add_message_type<mig_finish>("ferry.mig_finish");
  cfg.add_message_type<finish_cookie>("ferry.finish_cookie");
  cfg.add_message_type<mig_confirm>("ferry.mig_confirm");
  cfg.add_message_type<mig_query_outcome>("ferry.mig_query_outcome");
  cfg.add_message_type<mig_outcome>("ferry.mig_outcome");
  cfg.add_message_type<job_control>("ferry.job_control");
  cfg.add_message_type<pump_hello>("ferry.pump_hello");
  cfg.add_message_type<pump_chunk>("ferry.pump_chunk");
  cfg.add_message_type<pump_ack>("ferry.pump_ack");
  cfg.add_message_type<pump_eof>("ferry.pump_eof");
  cfg.add_message_type<netcheck_request>("ferry.netcheck_request");
  cfg.add_message_type<netcheck_prepare>("ferry.netcheck_prepare");
  cfg.add_message_type<netcheck_cookie>("ferry.netcheck_cookie");
  cfg.add_message_type<netcheck_collect>("ferry.netcheck_collect");
  cfg.add_message_type<netcheck_received>("ferry.netcheck_received");
  cfg.add_message_type<netcheck_result>("ferry.netcheck_result");
  cfg.add_message_type<arm_fault>("ferry.arm_fault");
  cfg.add_message_type<introspect>("ferry.introspect");
  cfg.add_message_type<session_summary>("ferry.session_summary");
  cfg.add_message_type<std::vector<session_summary>>(
    "ferry.session_summary_list");
  cfg.add_message_type<std::vector<driver_info>>("ferry.driver_info_list");
  cfg.add_message_type<std::vector<job_stats>>("ferry.job_stats_list");
  cfg.add_message_type<agent_snapshot>("ferry.agent_snapshot");
  cfg.add_message_type<domain_event>("ferry.domain_event");
  cfg.add_message_type<subscribe_events>("ferry.subscribe_events");
}

} // namespace ferry
