DROP INDEX events_message_id_idx;
DROP INDEX messages_reply_to_id_idx;
