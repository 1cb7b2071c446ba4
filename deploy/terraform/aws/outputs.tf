output "url" {
  description = "The API's public address (point your DNS name's record at it)."
  value       = "https://${aws_lb.main.dns_name}/graphql"
}

output "media_base_url" {
  description = "Where avatars are served from (the CDN), as MEDIA_BASE_URL."
  value       = "https://${aws_cloudfront_distribution.media.domain_name}"
}

output "media_bucket" {
  description = "The media bucket."
  value       = aws_s3_bucket.media.bucket
}

output "database_address" {
  description = "PostgreSQL's address inside the VPC."
  value       = aws_db_instance.main.address
}

output "redis_address" {
  description = "Redis's primary address inside the VPC."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "secret_arns" {
  description = "The Secrets Manager secrets the servers read."
  value = {
    database_url = aws_secretsmanager_secret.main["database-url"].arn
    redis_url    = aws_secretsmanager_secret.main["redis-url"].arn
    token_key    = aws_secretsmanager_secret.main["token-key"].arn
  }
}

output "migrate_command" {
  description = "Runs the migrations once (before updating the service to a new image)."
  value       = "aws ecs run-task --cluster ${aws_ecs_cluster.main.name} --launch-type FARGATE --task-definition ${aws_ecs_task_definition.migrate.family} --network-configuration 'awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${aws_security_group.service.id}]}'"
}
