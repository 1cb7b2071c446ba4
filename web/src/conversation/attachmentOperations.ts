import { graphql } from "../gql";

/** Uploads a file to send with a message (a GraphQL multipart request). */
export const UploadAttachmentMutation = graphql(`
  mutation UploadAttachment($file: Upload!) {
    uploadAttachment(file: $file) {
      id
      kind
      filename
      byteSize
    }
  }
`);

/** What a bubble shows of each attachment: a thumbnail (2× the 320-pixel box) or a chip. */
export const AttachmentFieldsFragment = graphql(`
  fragment AttachmentFields on Attachment {
    id
    kind
    filename
    contentType
    byteSize
    width
    height
    url
    thumbnailUrl(width: 640)
  }
`);
